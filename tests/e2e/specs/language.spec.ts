// Languages (issue 22): the console starts in the browser's language (Russian for a Russian
// browser, with `<html lang>` and Intl following), and an operator's pick in the navigation is
// remembered on the server: after a reload, and in a second browser signed in as them, it stays.
// A new operator of its own, so the demo operator's other specs keep their English.
import { test, expect, type Browser } from '@playwright/test';

const WRITE = { 'x-requested-with': 'leadcard' };

async function freshContext(browser: Browser, baseURL: string | undefined, locale: string) {
  return browser.newContext({ baseURL, locale, storageState: { cookies: [], origins: [] } });
}

test('a Russian browser gets the console in Russian, plurals and all', async ({ browser, baseURL }) => {
  const context = await freshContext(browser, baseURL, 'ru-RU');
  const page = await context.newPage();
  await page.goto('/login');
  await expect(page.locator('html')).toHaveAttribute('lang', 'ru');
  await expect(page.getByRole('button', { name: 'Войти' })).toBeVisible();
  await expect(page).toHaveTitle('Вход — leadcard');
  await context.close();
});

test('an operator switches to Russian; it stays after a reload and in their other browser', async ({ page, browser, baseURL }) => {
  const email = `lang-${Date.now()}@leadcard.test`;
  const password = 'a long language passphrase';
  const added = await page.request.post('/api/v1/operator-accounts', {
    headers: WRITE,
    data: { email, name: 'Vera Language', role: 'operator', password },
  });
  expect(added.status()).toBe(201);

  const first = await freshContext(browser, baseURL, 'en-US');
  const operator = await first.newPage();
  await operator.goto('/login');
  await operator.fill('input[name=email]', email);
  await operator.fill('input[name=password]', password);
  await operator.getByRole('button', { name: 'Sign in' }).click();
  await expect(operator.getByRole('link', { name: 'Leads Database' })).toBeVisible();
  await expect(operator.locator('html')).toHaveAttribute('lang', 'en');

  await Promise.all([operator.waitForEvent('load'), operator.getByTestId('language-switch').selectOption('ru')]);
  await expect(operator.getByRole('link', { name: 'База лидов' })).toBeVisible();
  await expect(operator.locator('html')).toHaveAttribute('lang', 'ru');
  await operator.reload();
  await expect(operator.getByRole('link', { name: 'База лидов' })).toBeVisible();
  await expect(operator.getByTestId('language-switch')).toHaveValue('ru');

  // Another browser (English), signed in as the same operator: Russian too, from the server.
  const second = await freshContext(browser, baseURL, 'en-US');
  const elsewhere = await second.newPage();
  await elsewhere.goto('/login');
  await elsewhere.fill('input[name=email]', email);
  await elsewhere.fill('input[name=password]', password);
  await elsewhere.getByRole('button', { name: 'Sign in' }).click();
  await expect(elsewhere.getByRole('link', { name: 'База лидов' })).toBeVisible();
  await expect(elsewhere.locator('html')).toHaveAttribute('lang', 'ru');
  const me = await (await elsewhere.request.get('/api/v1/me')).json();
  expect(me.language).toBe('ru');

  // Back to English, from the second browser: the first follows at its next load.
  await Promise.all([elsewhere.waitForEvent('load'), elsewhere.getByTestId('language-switch').selectOption('en')]);
  await expect(elsewhere.getByRole('link', { name: 'Leads Database' })).toBeVisible();
  await operator.reload();
  await expect(operator.getByRole('link', { name: 'Leads Database' })).toBeVisible();
  await first.close();
  await second.close();
});
