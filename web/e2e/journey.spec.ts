import { readFile } from 'node:fs/promises';
import { expect, test, type Page, type TestInfo } from '@playwright/test';

// Set by tests/e2e/shop_test.go: two products it created (name and price
// in cents, in USD; the first in a category, the second in a sub-category
// of it), those two categories, and a misspelling of the word both
// product names share.
function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through the end-to-end suite (make e2e)`);
  return v;
}

const products = () =>
  env('SHOP_PRODUCTS')
    .split('|')
    .map((p) => {
      const [name, cents] = p.split('=');
      return { name, cents: Number(cents) };
    });

const usd = (cents: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(cents / 100);

async function shot(page: Page, info: TestInfo, name: string) {
  await page.screenshot({ path: info.outputPath(`${name}.png`), fullPage: true });
}

/** register creates an account through the form and leaves the shopper signed in. */
async function register(page: Page, name: string, email: string) {
  await page.getByRole('link', { name: 'Register' }).click();
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill('Journey-Shopper-2026');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
}

async function fillAddress(page: Page) {
  await page.getByLabel('Full name').fill('Ada Shopper');
  await page.getByLabel('Address', { exact: true }).fill('1 Analytical St');
  await page.getByLabel('City').fill('London');
  await page.getByLabel('Postal code').fill('N1 9GU');
  await page.getByLabel(/Country code/).fill('GB');
}

/** buy puts quantity of the product on its page in the cart and places the order, paid by card or with PayPal. */
async function buy(page: Page, product: string, quantity: number, payment: 'Card' | 'PayPal' = 'Card') {
  await page.goto(`/#/?q=${encodeURIComponent(product)}`);
  await page.getByRole('link', { name: product, exact: true }).click();
  await page.getByLabel('Quantity').fill(String(quantity));
  await page.getByRole('button', { name: `Add ${product} to cart` }).click();
  await expect(page.getByText('Added to cart')).toBeVisible();
  await page.getByRole('link', { name: 'Cart' }).click();
  await page.getByRole('link', { name: 'Go to checkout' }).click();
  await page.getByLabel(payment, { exact: true }).check();
  await fillAddress(page);
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page).toHaveURL(/#\/orders\/[0-9a-f-]{36}$/);
}

/** approveAtPayPal follows the order's PayPal link, presses button on PayPal's approval page (the local emulator's), and comes back to the order. */
async function approveAtPayPal(page: Page, button: string) {
  const order = page.url();
  await page.getByRole('link', { name: 'Pay with PayPal' }).click({ timeout: 30_000 });
  await page.getByRole('button', { name: button }).click();
  await expect(page).toHaveURL(/#\/orders$/);
  await page.goto(order);
}

/** stock is the number of units the product's page says are available. */
async function stock(page: Page, product: string): Promise<number> {
  await page.goto(`/#/?q=${encodeURIComponent(product)}`);
  await page.getByRole('link', { name: product, exact: true }).click();
  const text = await page.getByText(/In stock \(\d+\)/).textContent();
  return Number(/\((\d+)\)/.exec(text ?? '')![1]);
}

/** openFilters unfolds the categories and filters, folded at a phone's width. */
async function openFilters(page: Page) {
  const filters = page.locator('details.filters');
  if (!(await filters.evaluate((d) => (d as HTMLDetailsElement).open))) {
    await page.getByText('Categories and filters').click();
  }
}

test('browse, search with a typo, fill the cart, save a card, check out, see the order paid, download the invoice', async ({ page }, info) => {
  const [teapot, mug] = products();
  const [ware, mugs] = env('SHOP_CATEGORIES').split('|');
  const typo = env('SHOP_TYPO');
  const email = `shopper-${info.project.name}-${Date.now()}@example.com`;
  // The page's policy allows only its own origin: anything it blocks is a bug.
  const blocked: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) blocked.push(m.text());
  });

  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Products', level: 1 })).toBeVisible();
  await page.getByRole('link', { name: 'Register' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Ada Shopper');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill('Weak');
  await page.getByRole('button', { name: 'Create account' }).click();
  // The API's 422 on the password shows next to the field.
  await expect(page.locator('.field-error')).toContainText('Password');
  await page.getByLabel('Password', { exact: true }).fill('Journey-Shopper-2026');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();

  // The category tree: a category holds its sub-categories' products.
  await openFilters(page);
  const tree = page.getByRole('navigation', { name: 'Categories' });
  await tree.getByRole('link', { name: ware, exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: `2 products in ${ware}` })).toBeVisible();
  await expect(tree.getByRole('link', { name: ware, exact: true })).toHaveAttribute('aria-current', 'page');
  // Sorted by price, most expensive first, then filtered by price.
  const names = page.getByRole('list', { name: 'Products' }).getByRole('heading', { level: 2 });
  await page.getByLabel('Sort by').selectOption('-price');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/sort=-price/);
  await expect(names).toHaveText([teapot.name, mug.name]);
  await page.getByLabel('Sort by').selectOption('price');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(names).toHaveText([mug.name, teapot.name]);
  await page.getByLabel('Max price').fill(String((mug.cents + 1) / 100));
  await page.getByLabel('In stock only').check();
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(new RegExp(`max_price=${mug.cents + 1}`));
  await expect(names).toHaveText([mug.name]);
  // The form shows the filters in force.
  await expect(page.getByLabel('Sort by')).toHaveValue('price');
  await expect(page.getByLabel('Max price')).toHaveValue(String((mug.cents + 1) / 100));
  await shot(page, info, '1-category-filtered');
  await tree.getByRole('link', { name: mugs, exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: `1 product in ${mugs}` })).toBeVisible();

  // Search from the whole catalogue again.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Products' }).click();
  await page.getByLabel('Search products').fill(typo);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(new RegExp(`#/\\?q=${typo}$`));
  for (const p of [teapot, mug]) {
    const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: p.name }) });
    await expect(card.getByText(usd(p.cents))).toBeVisible();
    await expect(card.getByText(/In stock/)).toBeVisible();
    await card.getByRole('button', { name: `Add ${p.name} to cart` }).click();
    await expect(card.getByText('Added to cart')).toBeVisible();
  }
  await shot(page, info, '2-search');

  await page.getByRole('link', { name: teapot.name }).click();
  await expect(page.getByRole('heading', { name: teapot.name, level: 1 })).toBeVisible();
  await expect(page.getByText(/In stock \(\d+\)/)).toBeVisible();
  await shot(page, info, '3-product');

  await page.getByRole('link', { name: 'Cart' }).click();
  const quantity = page.getByLabel(`Quantity of ${teapot.name}`);
  await quantity.fill('2');
  await quantity.press('Tab');
  const total = 2 * teapot.cents + mug.cents;
  await expect(page.getByTestId('cart-total')).toHaveText(usd(total));
  await shot(page, info, '4-cart');

  await page.getByRole('link', { name: 'Cards' }).click();
  await expect(page.getByText('No card saved yet.')).toBeVisible();
  await page.getByLabel('Test card').selectOption('pm_card_visa');
  await page.getByRole('button', { name: 'Save card' }).click();
  await expect(page.getByText(/ending in 4242.*default/i)).toBeVisible();

  // An access token the API refuses is replaced with the refresh token,
  // and the request goes through: the shopper stays signed in.
  await page.evaluate(() => {
    const t = JSON.parse(localStorage.getItem('daprshop.tokens')!);
    localStorage.setItem('daprshop.tokens', JSON.stringify({ ...t, access: 'refused.by.the.api' }));
  });
  await page.reload();
  await page.getByRole('link', { name: 'Cart' }).click();
  await expect(page.getByTestId('cart-total')).toHaveText(usd(total));
  await page.getByRole('link', { name: 'Go to checkout' }).click();
  await expect(page.getByText(/ending in 4242/)).toBeVisible();
  await fillAddress(page);
  await shot(page, info, '5-checkout');
  // Every status the order page read, and every page load from here on.
  const seen: string[] = [];
  page.on('response', async (r) => {
    if (/\/api\/v1\/orders\/[0-9a-f-]{36}$/.test(r.url()) && r.ok()) seen.push((await r.json()).status);
  });
  let loads = 0;
  page.on('load', () => loads++);
  // A double click places one order.
  await page.getByRole('button', { name: 'Place order' }).dblclick();

  await expect(page).toHaveURL(/#\/orders\/[0-9a-f-]{36}$/);
  const orderURL = page.url();
  // Turns paid without a reload: the page polls while the payment is under way.
  await expect(page.getByTestId('order-status')).toHaveText('paid', { timeout: 60_000 });
  await expect(page.getByRole('row', { name: /^Total/ })).toContainText(usd(total));
  await shot(page, info, '6-order-paid');
  expect(loads, 'the order turned paid without a reload').toBe(0);
  console.log(`[${info.project.name}] order statuses the page read: ${seen.join(' → ')}`);

  // One order, paid, in the list; it leads back to the order.
  await page.getByRole('link', { name: 'Orders', exact: true }).click();
  const orders = page.getByRole('table', { name: 'Your orders' }).getByRole('row');
  await expect(orders).toHaveCount(2);
  await expect(orders.nth(1)).toContainText('paid');
  await expect(orders.nth(1)).toContainText(usd(total));
  await shot(page, info, '7-orders');
  await orders.nth(1).getByRole('link').click();
  await expect(page).toHaveURL(orderURL);

  // The invoice, as the PDF the API renders.
  const invoice = page.getByRole('button', { name: /Download invoice .* \(PDF\)/ });
  const [download] = await Promise.all([page.waitForEvent('download'), invoice.click()]);
  expect(download.suggestedFilename()).toMatch(/\.pdf$/);
  const pdf = await readFile(await download.path());
  expect(pdf.subarray(0, 5).toString('latin1'), 'the file is a PDF').toBe('%PDF-');
  expect(pdf.length).toBeGreaterThan(500);
  await shot(page, info, '8-invoice');
  expect(blocked).toEqual([]);
});

test('a declined card cancels the order and gives the stock back; a paid order is cancelled and refunded', async ({ page }, info) => {
  const [, mug] = products();
  const email = `declined-${info.project.name}-${Date.now()}@example.com`;
  await page.goto('/');
  await register(page, 'Dee Clined', email);

  // Notification preferences are kept.
  await page.getByRole('link', { name: 'Notifications' }).click();
  await expect(page.getByLabel('Email')).toBeChecked();
  await page.getByLabel('Text message (SMS)').check();
  await page.getByRole('button', { name: 'Save preferences' }).click();
  await expect(page.getByText('Preferences saved.')).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('Text message (SMS)')).toBeChecked();
  await shot(page, info, '1-preferences');

  await page.getByRole('link', { name: 'Cards' }).click();
  await page.getByLabel('Test card').selectOption('pm_card_chargeDeclined');
  await page.getByRole('button', { name: 'Save card' }).click();
  await expect(page.getByText(/ending in 0002.*default/i)).toBeVisible();

  const before = await stock(page, mug.name);
  await buy(page, mug.name, 2);
  await expect(page.getByRole('alert')).toContainText('Payment declined: Your card was declined.', { timeout: 60_000 });
  await expect(page.getByTestId('order-status')).toHaveText('cancelled');
  await expect(page.getByRole('button', { name: 'Cancel order' })).toHaveCount(0);
  await shot(page, info, '2-declined');
  // The two units reserved at checkout are back.
  await expect(async () => expect(await stock(page, mug.name)).toBe(before)).toPass({ timeout: 30_000 });
  await shot(page, info, '3-stock-back');

  // Another card, made the default, pays; cancelling the paid order refunds it.
  await page.getByRole('link', { name: 'Cards' }).click();
  await page.getByLabel('Test card').selectOption('pm_card_visa');
  await page.getByRole('button', { name: 'Save card' }).click();
  await page.getByRole('button', { name: /Charge the visa ending in 4242/i }).click();
  await expect(page.getByText(/ending in 4242.*default/i)).toBeVisible();
  await buy(page, mug.name, 1);
  await expect(page.getByTestId('order-status')).toHaveText('paid', { timeout: 60_000 });
  await page.getByRole('button', { name: 'Cancel order' }).click();
  await expect(page.getByTestId('order-status')).toHaveText('refunded', { timeout: 60_000 });
  await expect(page.getByText('Cancelled and refunded in full.')).toBeVisible();
  await shot(page, info, '4-cancelled-refunded');
  await expect(async () => expect(await stock(page, mug.name)).toBe(before)).toPass({ timeout: 30_000 });

  // A conflict (409: the email is taken) is one clear line.
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('link', { name: 'Log in', exact: true })).toBeVisible();
  await page.getByRole('link', { name: 'Register' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Dee Again');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill('Journey-Shopper-2026');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('alert')).toContainText('Not possible right now');
});

test('check out with PayPal: approve at PayPal, come back, see the order paid; a declined one says to pay with PayPal again', async ({ page }, info) => {
  const [teapot] = products();
  const email = `paypal-${info.project.name}-${Date.now()}@example.com`;
  await page.goto('/');
  await register(page, 'Pat Pal', email);

  // No saved card is needed to pay with PayPal.
  await buy(page, teapot.name, 1, 'PayPal');
  await approveAtPayPal(page, 'Approve payment');
  await expect(page.getByTestId('order-status')).toHaveText('paid', { timeout: 60_000 });
  await expect(page.getByRole('link', { name: 'Pay with PayPal' })).toHaveCount(0);
  await shot(page, info, 'paypal-paid');

  // A declined PayPal payment cancels the order, and the page speaks of PayPal, not of cards.
  await buy(page, teapot.name, 1, 'PayPal');
  await approveAtPayPal(page, 'Approve with a funding source that will be declined');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Payment declined: PayPal declined the payment.', { timeout: 60_000 });
  await expect(alert.getByRole('link', { name: 'Pay with PayPal again or choose another payment' })).toBeVisible();
  await expect(alert).not.toContainText('card');
  await expect(page.getByTestId('order-status')).toHaveText('cancelled');
  await shot(page, info, 'paypal-declined');
});
