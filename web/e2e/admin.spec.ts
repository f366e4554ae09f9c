import { expect, test, type APIRequestContext, type Page, type TestInfo } from '@playwright/test';

// Set by tests/e2e/admin_test.go: the admin the system bootstraps.
function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through the end-to-end suite (make e2e)`);
  return v;
}

const usd = (cents: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(cents / 100);

async function shot(page: Page, info: TestInfo, name: string) {
  await page.screenshot({ path: info.outputPath(`${name}.png`), fullPage: true });
}

/** buy has a new customer buy quantity of the product with a saved card and waits for the order to be paid. */
async function buy(request: APIRequestContext, productID: string, quantity: number, tag: string): Promise<string> {
  const email = `buyer-${tag}@example.com`;
  const password = 'Admin-Journey-Buyer-2026';
  expect((await request.post('/api/v1/auth/register', { data: { email, password, name: 'Grace Buyer' } })).status()).toBe(201);
  const login = await request.post('/api/v1/auth/login', { data: { email, password } });
  expect(login.status()).toBe(200);
  const headers = { Authorization: `Bearer ${(await login.json()).access_token}` };
  expect((await request.post('/api/v1/payment-methods', { headers, data: { payment_method: 'pm_card_visa' } })).status()).toBe(201);
  expect((await request.post('/api/v1/cart/items', { headers, data: { product_id: productID, quantity } })).status()).toBe(200);
  const checkout = await request.post('/api/v1/checkout', {
    headers: { ...headers, 'Idempotency-Key': crypto.randomUUID() },
    data: { shipping_address: { name: 'Grace Buyer', line1: '1 Compiler Way', city: 'Arlington', postal_code: '22201', country: 'US' } },
  });
  expect(checkout.status()).toBe(201);
  const id: string = (await checkout.json()).id;
  await expect
    .poll(async () => (await (await request.get(`/api/v1/orders/${id}`, { headers })).json()).status, { timeout: 60_000 })
    .toBe('paid');
  return id;
}

test('create a product, adjust its stock, ship an order of it, refund it, see the sales chart change', async ({ page, request }, info) => {
  const tag = `${info.project.name}-${Date.now()}`;
  const name = `Lighthouse Lamp ${tag}`;
  const cents = 2450;
  const blocked: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) blocked.push(m.text());
  });

  await page.goto('/admin');
  await expect(page.getByRole('heading', { name: 'Admin sign-in', level: 1 })).toBeVisible();
  await page.getByLabel('Email').fill(env('ADMIN_EMAIL'));
  await page.getByLabel('Password').fill(env('ADMIN_PASSWORD'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Sales', level: 1 })).toBeVisible();
  const totals = page.getByTestId('sales-total');
  await expect(page.getByTestId('sales-chart')).toBeVisible();
  const before = await totals.innerText();
  await shot(page, info, '1-sales-before');

  // A product, created without stock, then restocked.
  await page.getByRole('link', { name: 'Products' }).click();
  await expect(page.getByRole('heading', { name: 'Products', level: 1 })).toBeVisible();
  const form = page.locator('form').filter({ has: page.getByRole('button', { name: 'Create product' }) });
  await form.getByLabel('SKU').fill(`LAMP-${tag}`);
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Description').fill('A lamp for the admin journey');
  await form.getByLabel('Price').fill((cents / 100).toFixed(2));
  await form.getByLabel('Initial stock').fill('0');
  await form.getByRole('button', { name: 'Create product' }).click();
  await expect(page.getByRole('status')).toContainText(`Created ${name}`);
  await page.getByRole('status').getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
  const productID = page.url().split('/').pop()!;
  await expect(page.getByTestId('available')).toHaveText('0');
  await page.getByLabel('Units to add').fill('5');
  await page.getByLabel('Reason').fill('first delivery');
  await page.getByRole('button', { name: 'Adjust stock' }).click();
  await expect(page.getByTestId('available')).toHaveText('5');
  // Below what is reserved is a conflict: one clear line.
  await page.getByLabel('Units to add').fill('-50');
  await page.getByLabel('Reason').fill('miscount');
  await page.getByRole('button', { name: 'Adjust stock' }).click();
  await expect(page.getByRole('alert')).toContainText('Not possible right now');
  await expect(page.getByTestId('available')).toHaveText('5');
  await shot(page, info, '2-product-stock');

  // A customer buys two; the admin finds the order among the paid ones and ships it.
  const orderID = await buy(request, productID, 2, tag);
  await page.getByRole('link', { name: 'Orders' }).click();
  await page.getByLabel('Status').selectOption('paid');
  await page.getByRole('link', { name: `Order ${orderID}` }).click();
  await expect(page.getByTestId('order-status')).toHaveText('paid');
  await page.getByRole('button', { name: 'Mark shipped' }).click();
  await expect(page.getByTestId('order-status')).toHaveText('shipped');
  await expect(page.getByRole('button', { name: 'Mark delivered' })).toBeVisible();
  await shot(page, info, '3-order-shipped');

  // A refund of the whole payment (the amount left empty).
  await page.getByRole('button', { name: 'Refund', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Refund of' })).toHaveText(`Refund of ${usd(2 * cents)}: succeeded.`);
  await expect(page.getByTestId('refunded')).toHaveText(`${usd(2 * cents)} refunded`);
  await shot(page, info, '4-order-refunded');

  // The chart shows the sale and its refund (the analytics follow the events).
  await page.getByRole('link', { name: 'Sales' }).click();
  await expect(async () => {
    await page.getByRole('button', { name: 'Show' }).click();
    const after = await totals.innerText();
    expect(after).not.toBe(before);
    expect(figures(after).refunds - figures(before).refunds).toBeCloseTo((2 * cents) / 100);
    expect(figures(after).revenue - figures(before).revenue).toBeCloseTo((2 * cents) / 100);
    expect(figures(after).orders - figures(before).orders).toBe(1);
  }).toPass({ timeout: 30_000 });
  const today = new Date().toISOString().slice(0, 10);
  await expect(page.locator(`[data-date="${today}"] title`)).toContainText(/refunds \$[1-9]/);
  await shot(page, info, '5-sales-after');

  // A template and its preview with sample data. The first template's
  // answer is held until the chosen one's has come: a slower answer for a
  // template no longer chosen must not replace the chosen one's text.
  let chosenAnswered = () => {};
  const chosen = new Promise<void>((resolve) => (chosenAnswered = resolve));
  await page.route('**/api/v1/admin/notification-templates/welcome', async (route) => {
    await chosen;
    await route.continue();
  });
  await page.route('**/api/v1/admin/notification-templates/order_shipped', async (route) => {
    await route.fulfill({ response: await route.fetch() });
    chosenAnswered();
  });
  const firstAnswered = page.waitForResponse('**/api/v1/admin/notification-templates/welcome');
  await page.getByRole('link', { name: 'Templates' }).click();
  await page.getByLabel('Template', { exact: true }).selectOption('order_shipped');
  await firstAnswered;
  await expect(page.getByTestId('preview-subject')).toHaveText('Order 00000000-0000-0000-0000-000000000000 is on its way');
  // The preview follows the draft as it is typed, before any save.
  await page.getByLabel('Subject').fill('Shipped: {{money .TotalCents .Currency}}{{if .Reason}}, note {{.Reason}}{{end}}');
  await expect(page.getByTestId('preview-subject')).toHaveText('Shipped: 19.99 USD, note changed my mind');
  // The body renders in an empty sandbox, a frame of its own process in
  // Chromium whose content the test cannot always reach: what the frame is
  // given to show is checked instead, and that it is shown.
  const body = page.locator('iframe[title="HTML body preview"]');
  await expect(body).toHaveAttribute('srcdoc', '<p>Your order 00000000-0000-0000-0000-000000000000 has shipped.</p>');
  await expect(body).toHaveAttribute('sandbox', '');
  await expect(body).toBeVisible();
  await shot(page, info, '6-template-preview');

  await page.getByRole('link', { name: 'Dead letters' }).click();
  await expect(page.getByRole('heading', { name: 'Dead letters', level: 1 })).toBeVisible();
  // One list of every service's letters, narrowed by the service filter.
  await expect(page.getByText(/No dead letters in any service|Replay/).first()).toBeVisible();
  await page.getByLabel('Service').selectOption('payments');
  await expect(page.getByText(/No dead letters in payments|Replay/).first()).toBeVisible();
  await expect(page.getByText(/did not answer/)).toHaveCount(0);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Admin sign-in', level: 1 })).toBeVisible();
  expect(blocked).toEqual([]);
});

/** figures reads the totals line of the sales page. */
function figures(text: string) {
  const amount = (label: string) => Number(new RegExp(`${label}\\s*\\$([\\d,.]+)`).exec(text)?.[1].replace(/,/g, '') ?? NaN);
  return { revenue: amount('Revenue'), refunds: amount('Refunds'), orders: Number(/Orders\s*(\d+)/.exec(text)?.[1] ?? NaN) };
}
