import { expect, test, type Page, type TestInfo } from '@playwright/test';

// Set by tests/e2e/shop_test.go: two products it created (name and price
// in cents, in USD) and a misspelling of the word both names share.
function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through the end-to-end suite (make e2e)`);
  return v;
}

const usd = (cents: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(cents / 100);

async function shot(page: Page, info: TestInfo, name: string) {
  await page.screenshot({ path: info.outputPath(`${name}.png`), fullPage: true });
}

test('register, search with a typo, fill the cart, save a card, check out, see the order paid', async ({ page }, info) => {
  const products = env('SHOP_PRODUCTS')
    .split('|')
    .map((p) => {
      const [name, cents] = p.split('=');
      return { name, cents: Number(cents) };
    });
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

  await page.getByLabel('Search products').fill(typo);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${typo}`));
  for (const p of products) {
    const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: p.name }) });
    await expect(card.getByText(usd(p.cents))).toBeVisible();
    await expect(card.getByText(/In stock/)).toBeVisible();
    await card.getByRole('button', { name: `Add ${p.name} to cart` }).click();
    await expect(card.getByText('Added to cart')).toBeVisible();
  }
  await shot(page, info, '1-search');

  await page.getByRole('link', { name: products[0].name }).click();
  await expect(page.getByRole('heading', { name: products[0].name, level: 1 })).toBeVisible();
  await expect(page.getByText(/In stock \(\d+\)/)).toBeVisible();
  await shot(page, info, '2-product');

  await page.getByRole('link', { name: 'Cart' }).click();
  const quantity = page.getByLabel(`Quantity of ${products[0].name}`);
  await quantity.fill('2');
  await quantity.press('Tab');
  const total = 2 * products[0].cents + products[1].cents;
  await expect(page.getByTestId('cart-total')).toHaveText(usd(total));
  await shot(page, info, '3-cart');

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
  await page.getByLabel('Full name').fill('Ada Shopper');
  await page.getByLabel('Address', { exact: true }).fill('1 Analytical St');
  await page.getByLabel('City').fill('London');
  await page.getByLabel('Postal code').fill('N1 9GU');
  await page.getByLabel(/Country code/).fill('GB');
  await shot(page, info, '4-checkout');
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
  // Turns paid without a reload: the page polls while the payment is under way.
  await expect(page.getByTestId('order-status')).toHaveText('paid', { timeout: 60_000 });
  await expect(page.getByRole('row', { name: /^Total/ })).toContainText(usd(total));
  await shot(page, info, '5-order-paid');
  expect(loads, 'the order turned paid without a reload').toBe(0);
  console.log(`[${info.project.name}] order statuses the page read: ${seen.join(' → ')}`);

  await page.getByRole('link', { name: 'Orders' }).click();
  await expect(page.getByRole('list', { name: 'Your orders' }).getByRole('listitem')).toHaveCount(1);

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('link', { name: 'Log in', exact: true })).toBeVisible();

  // A conflict (409: the email is taken) is one clear line.
  await page.getByRole('link', { name: 'Register' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Ada Again');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill('Journey-Shopper-2026');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('alert')).toContainText('Not possible right now');
  expect(blocked).toEqual([]);
});
