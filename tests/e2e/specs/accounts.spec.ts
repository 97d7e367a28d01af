// Operator accounts in the console: an admin adds an operator with a one-time link, the operator
// sets a password from it and signs in; disabling them signs their open console out within
// seconds; an operator changes their own password and ends another of their sessions.
import { test, expect, type Browser, type Page } from '@playwright/test';

const WRITE = { 'X-Requested-With': 'leadcard' };

/** A browser context without the demo operator's session. */
async function freshPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  return context.newPage();
}

async function signIn(page: Page, email: string, password: string) {
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await expect(page.getByTestId('me')).toBeVisible();
}

test('an admin adds an operator with a link; they set a password and sign in; disabling them signs their console out', async ({ page, browser }) => {
  const email = `linked-${Date.now()}@leadcard.test`;
  await page.goto('/settings');
  await page.getByTestId('operators-link').click();
  await expect(page).toHaveURL(/\/settings\/operators$/);
  await expect(page.getByTestId('operator-row').first()).toBeVisible();

  // Bad input: the API's message under the field it names.
  const form = page.getByTestId('add-operator');
  await form.locator('input[name=email]').fill('not an address');
  await form.locator('input[name=name]').fill('Linked Operator');
  await page.getByTestId('add-operator-save').click();
  await expect(form.locator('[data-field=email]')).toBeVisible();

  await form.locator('input[name=email]').fill(email);
  await page.getByTestId('add-operator-save').click();
  const link = await page.getByTestId('password-link').textContent();
  expect(link).toContain('/set-password?token=');
  const row = page.locator(`[data-testid=operator-row][data-email="${email}"]`);
  await expect(row.getByTestId('operator-state')).toHaveText('Waiting for a password');

  // The operator, in a browser of their own, opens the link.
  const operator = await freshPage(browser);
  const url = new URL(link!);
  await operator.goto(url.pathname + url.search);
  await operator.fill('input[name=password]', 'short');
  await operator.getByTestId('set-password-save').click();
  await expect(operator.locator('[data-field=password]')).toContainText('12 characters');
  await operator.fill('input[name=password]', 'a long and uncommon passphrase');
  await operator.getByTestId('set-password-save').click();
  await expect(operator).toHaveURL(/\/login$/);
  await signIn(operator, email, 'a long and uncommon passphrase');
  await expect(operator.getByTestId('live-status')).toHaveAttribute('data-connected', 'true');

  // The link worked once.
  const again = await operator.request.post('/api/v1/password-links/use', {
    headers: WRITE,
    data: { token: url.searchParams.get('token'), password: 'another long passphrase' },
  });
  expect(again.status()).toBe(422);

  await page.getByTestId('operators-refresh').click();
  await expect(row.getByTestId('operator-state')).toHaveText('Enabled');
  await row.getByTestId('operator-toggle').click();
  await expect(row).toHaveAttribute('data-disabled', 'true');
  await expect(row.getByTestId('operator-state')).toHaveText('Disabled');
  // Their open console, untouched, goes to the sign-in page within seconds.
  await expect(operator).toHaveURL(/\/login/, { timeout: 8_000 });

  // Enabled again, with a new link to set a password.
  await row.getByTestId('operator-toggle').click();
  await expect(row).toHaveAttribute('data-disabled', 'false');
  await row.getByTestId('operator-reset').click();
  await expect(page.getByTestId('password-link')).not.toHaveText(link!);
  await expect(page.getByTestId('password-link')).toContainText('/set-password?token=');
  await operator.context().close();
});

test('an operator changes their own password and ends another of their sessions', async ({ page, browser }) => {
  const email = `self-${Date.now()}@leadcard.test`;
  const password = 'first long passphrase';
  const added = await page.request.post('/api/v1/operator-accounts', {
    headers: WRITE,
    data: { email, name: 'Self Service', role: 'operator', password },
  });
  expect(added.status()).toBe(201);

  const operator = await freshPage(browser);
  // Another session of theirs, elsewhere.
  const other = await freshPage(browser);
  const elsewhere = other.context().request;
  expect((await elsewhere.post('/api/v1/session', { data: { email, password } })).status()).toBe(200);

  await operator.goto('/login');
  await signIn(operator, email, password);
  // Not an admin: no operators to manage.
  await operator.goto('/settings/operators');
  await expect(operator.getByTestId('operators-admins-only')).toBeVisible();

  await operator.getByRole('link', { name: 'Account' }).click();
  await expect(operator).toHaveURL(/\/account$/);
  const rows = operator.getByTestId('session-row');
  await expect(rows).toHaveCount(2);
  await expect(operator.locator('[data-testid=session-row][data-current=true]')).toHaveCount(1);
  await operator.locator('[data-testid=session-row][data-current=false]').getByTestId('session-end').click();
  await expect(rows).toHaveCount(1);
  expect((await elsewhere.get('/api/v1/me')).status()).toBe(401);

  const form = operator.getByTestId('password-form');
  // The core rule, in the page, under the field.
  await form.locator('input[name=current_password]').fill(password);
  await form.locator('input[name=new_password]').fill('qwerty123456');
  await operator.getByTestId('password-save').click();
  await expect(form.locator('[data-field=new_password]')).toContainText('common');
  // The server's refusal, under the field it names.
  await form.locator('input[name=current_password]').fill('not my password at all');
  await form.locator('input[name=new_password]').fill('second long passphrase');
  await operator.getByTestId('password-save').click();
  await expect(form.locator('[data-field=current_password]')).toBeVisible();

  await form.locator('input[name=current_password]').fill(password);
  await operator.getByTestId('password-save').click();
  await expect(operator.getByTestId('password-saved')).toBeVisible();
  // Still signed in here; the new password signs in, the old one does not.
  expect((await operator.request.get('/api/v1/me')).status()).toBe(200);
  expect((await elsewhere.post('/api/v1/session', { data: { email, password } })).status()).toBe(401);
  expect((await elsewhere.post('/api/v1/session', { data: { email, password: 'second long passphrase' } })).status()).toBe(200);
  await operator.context().close();
  await other.context().close();
});
