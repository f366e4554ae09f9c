import { expect, test, type Page, type TestInfo } from '@playwright/test';

// Set by tests/e2e/traces_test.go: a checkout's trace, whole in Jaeger.
function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through the end-to-end suite (make e2e)`);
  return v;
}

// The viewer is Jaeger's page, at Jaeger's port, not the gateway's.
test.use({ baseURL: process.env.TRACES_URL ?? 'http://127.0.0.1:16686' });

async function shot(page: Page, info: TestInfo, name: string) {
  await page.screenshot({ path: info.outputPath(`${name}.png`), fullPage: true });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test("find a checkout's trace among the gateway's and read it span by span", async ({ page }, info) => {
  const id = env('TRACE_ID');
  const services = env('TRACE_SERVICES').split(',');
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  const perService = services.map((s) => new RegExp(`^${escape(s)} \\(\\d+\\)$`));

  // The search: the gateway's checkouts in the last 15 minutes.
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Traces', level: 1 })).toBeVisible();
  for (const s of services) await expect(page.getByLabel('Service').locator(`option[value="${s}"]`)).toHaveCount(1);
  await page.getByLabel('Service').selectOption('gateway');
  await page.getByLabel('Operation').selectOption('POST /api/v1/checkout');
  await page.getByLabel('Limit').fill('50');
  await page.getByLabel('Lookback').selectOption('15m');
  await page.getByRole('button', { name: 'Find traces' }).click();
  await expect(page.getByRole('heading', { level: 2, name: /traces? of gateway, POST \/api\/v1\/checkout, in the last 15 minutes/ })).toBeVisible();
  const link = page.locator(`a[href="#/trace/${id}"]`);
  const item = page.getByRole('listitem').filter({ has: link });
  // Its root is the visit's first request; the checkout is in it.
  await expect(link).toHaveText('gateway: POST /api/v1/auth/register');
  await expect(item.getByRole('list', { name: 'Services' }).getByRole('listitem')).toHaveText(perService);
  await expect(item).toContainText(id.slice(0, 7));
  await shot(page, info, '1-search');

  // The trace: every service, the checkout and the Stripe call under it.
  await link.click();
  await expect(page).toHaveURL(new RegExp(`#/trace/${id}$`));
  await expect(page.getByRole('heading', { name: 'gateway: POST /api/v1/auth/register', level: 1 })).toBeVisible();
  await expect(page.getByRole('heading', { name: `${services.length} services`, level: 2 })).toBeVisible();
  await expect(page.getByRole('list', { name: 'Services' }).getByRole('listitem')).toHaveText(perService);
  for (const s of services) await expect(page.getByRole('button', { name: new RegExp(`^${escape(s)} `) }).first()).toBeVisible();
  const checkout = page.getByRole('button', { name: /^gateway POST \/api\/v1\/checkout / }).first();
  const stripe = page.getByRole('button', { name: /^payments stripe POST \/v1\/payment_intents / }).first();
  // Indented under the checkout, its bar within the trace's time.
  const x = async (b: typeof stripe) => (await b.locator('.label').boundingBox())!.x;
  expect(await x(stripe)).toBeGreaterThan(await x(checkout));
  const time = (await stripe.locator('svg').boundingBox())!;
  const bar = (await stripe.locator('rect').boundingBox())!;
  expect(bar.x).toBeGreaterThanOrEqual(time.x - 0.5);
  expect(bar.x + bar.width).toBeLessThanOrEqual(time.x + time.width + 0.5);
  expect(bar.width).toBeGreaterThan(0);
  await stripe.click();
  await expect(stripe).toHaveAttribute('aria-expanded', 'true');
  const detail = page.locator(`#${await stripe.getAttribute('aria-controls')}`);
  await expect(detail.getByRole('row', { name: 'http.response.status_code 200' })).toBeVisible();
  await stripe.scrollIntoViewIfNeeded();
  await shot(page, info, '2-trace');

  // The way back keeps the search.
  await page.getByRole('link', { name: '← Search' }).click();
  await expect(link).toBeVisible();
  await expect(page.getByLabel('Operation')).toHaveValue('POST /api/v1/checkout');
  // The same search again keeps the focus on its button.
  const find = page.getByRole('button', { name: 'Find traces' });
  await find.focus();
  await page.keyboard.press('Enter');
  await expect(link).toBeVisible();
  await expect(find).toBeFocused();
  // Another search from the keyboard keeps it in the form too.
  await page.getByLabel('Limit').fill('49');
  await page.getByLabel('Limit').press('Enter');
  await expect(page).toHaveURL(/limit=49/);
  await expect(link).toBeVisible();
  await expect(page.getByLabel('Limit')).toBeFocused();
  // A new search (#/) starts from the gateway again.
  await page.getByRole('link', { name: 'daprshop traces' }).click();
  await expect(page.getByLabel('Service')).toHaveValue('gateway');
  await expect(page.getByLabel('Operation')).toHaveValue('');
  await expect(find).toBeEnabled();
  // A trace ID pasted with the spaces around it opens the trace.
  await page.getByLabel('Trace ID').fill(`  ${id.toUpperCase()} `);
  await page.getByRole('button', { name: 'Open trace' }).click();
  await expect(page).toHaveURL(new RegExp(`#/trace/${id}$`));
  await expect(page.getByRole('heading', { name: 'gateway: POST /api/v1/auth/register', level: 1 })).toBeVisible();

  // A printed link opens the trace; one Jaeger does not hold, and a search
  // that finds nothing, say so.
  await page.goto(`/#/trace/${id}`);
  await expect(page.getByRole('heading', { name: 'gateway: POST /api/v1/auth/register', level: 1 })).toBeVisible();
  await page.goto(`/#/trace/${'0'.repeat(31)}1`);
  await expect(page.getByRole('heading', { name: 'Trace not found', level: 1 })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('Jaeger holds no trace');
  await page.goto('/#/trace/%E0%A4%A');
  await expect(page.getByRole('heading', { name: 'Not a trace ID', level: 1 })).toBeVisible();
  await page.goto('/#/?service=no-such-service');
  await expect(page.getByRole('status')).toHaveText('No traces of no-such-service in the last hour.');
  await shot(page, info, '3-nothing-found');
  expect(failures).toEqual([]);
});
