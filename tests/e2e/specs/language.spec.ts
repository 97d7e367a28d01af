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

test("the server's refusals and the rules' messages come in the page's language, not the browser's", async ({ page, browser, baseURL }) => {
  // A lead with a phone only: no name, no email.
  const created = await page.request.post('/api/v1/leads', {
    headers: WRITE,
    data: { properties: [{ name: '$phone', value: { type: 'text', value: `+49 30 ${Date.now() % 10_000_000}` } }] },
  });
  expect(created.status()).toBe(201);
  const lead = (await created.json()).id;
  const email = `lang-errors-${Date.now()}@leadcard.test`;
  const password = 'a long language passphrase';
  const added = await page.request.post('/api/v1/operator-accounts', {
    headers: WRITE,
    data: { email, name: 'Olga Errors', role: 'operator', password },
  });
  expect(added.status()).toBe(201);

  // An English browser whose page was switched to Russian: the server must answer in Russian.
  const context = await freshContext(browser, baseURL, 'en-US');
  const operator = await context.newPage();
  await operator.goto('/login');
  await operator.evaluate(() => localStorage.setItem('leadcard.language', 'ru'));
  await operator.reload();
  await expect(operator.locator('html')).toHaveAttribute('lang', 'ru');
  await operator.fill('input[name=email]', email);
  await operator.fill('input[name=password]', 'not the right passphrase');
  await operator.getByRole('button', { name: 'Войти' }).click();
  await expect(operator.getByText('Неверный email или пароль.')).toBeVisible();

  // Signed in, Russian kept on the server: the card of a lead without name or email.
  expect((await context.request.post('/api/v1/session', { data: { email, password } })).status()).toBe(200);
  const kept = await context.request.patch('/api/v1/account', { headers: WRITE, data: { language: 'ru' } });
  expect(kept.status()).toBe(200);
  await operator.goto(`/leads/${lead}`);
  await expect(operator.getByTestId('lead-name')).toHaveText(`Лид №${lead}`);
  // The menu's reason, from the server's rules.
  await operator.getByTestId('card-menu').click();
  await expect(operator.getByTestId('menu-unsubscribe')).toBeDisabled();
  await expect(operator.getByTestId('menu-unsubscribe')).toContainText('у лида нет адреса эл. почты');
  await operator.keyboard.press('Escape');
  // The tag rule, checked in the page by core.
  await operator.getByTestId('tag-input').fill('x'.repeat(65));
  await operator.getByTestId('tag-input').press('Enter');
  await expect(operator.getByTestId('tag-error')).toHaveText('Тег может содержать не более 64 символов.');
  // The removal is confirmed by the name the page shows.
  await operator.getByTestId('card-menu').click();
  await operator.getByTestId('menu-remove').click();
  const dialog = operator.getByTestId('remove-dialog');
  await dialog.getByTestId('remove-confirm').fill(`Лид №${lead}`);
  await dialog.getByTestId('remove-submit').click();
  await expect(operator.getByTestId('lead-removed')).toBeVisible();
  expect((await page.request.get(`/api/v1/leads/${lead}`)).status()).toBe(404);
  // The server's 404, in Russian.
  await operator.goto(`/leads/${lead}`);
  await expect(operator.getByText('Лида с таким id нет')).toBeVisible();
  await context.close();
});
