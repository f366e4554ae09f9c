import { defineConfig } from '@playwright/test';

// Run by the end-to-end suite (tests/e2e/shop_test.go), which boots the
// system, creates the products and sets SHOP_*; Chromium is Debian's, not
// one Playwright downloads.
export default defineConfig({
  testDir: 'e2e',
  // Screenshots of every journey land here (gitignored), per test and project.
  outputDir: 'test-results',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  workers: 1,
  forbidOnly: true,
  reporter: [['list']],
  use: {
    baseURL: process.env.SHOP_URL ?? 'http://127.0.0.1:3000',
    locale: 'en-US',
    headless: true,
    launchOptions: { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium' },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
  projects: [
    { name: 'desktop', use: { viewport: { width: 1280, height: 800 } } },
    // A phone's width: the whole journey must work there too.
    { name: 'phone', use: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } },
  ],
});
