// Playwright for leadcard: Debian's Chromium (no browser downloads here), one worker per core.
import { defineConfig } from '@playwright/test';

const baseURL = process.env.LEADCARD_BASE_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  testDir: './specs',
  globalSetup: './global-setup.ts',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  // One retry: specs share one server and its test clock (presence specs advance it), so a
  // spec can meet another's minutes on a loaded machine; a retried pass is reported as flaky.
  retries: 1,
  reporter: [['list']],
  use: {
    baseURL,
    storageState: 'test-results/.auth/demo.json',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    },
  },
});
