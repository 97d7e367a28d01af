// Sign-in, sign-out and the session guard on operator pages.
import { test, expect } from '@playwright/test';
import { DEMO } from '../global-setup';

test.describe('without a session', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('a wrong password shows an error and stays on the sign-in page', async ({ page }) => {
    await page.goto('/login');
    await page.fill('input[name=email]', DEMO.email);
    await page.fill('input[name=password]', 'not-the-password');
    await page.click('button[type=submit]');
    await expect(page.getByTestId('login-error')).toContainText(/wrong email or password/i);
    await expect(page).toHaveURL(/\/login/);
  });

  test('an operator page sends to sign-in and back to where the operator was going', async ({ page }) => {
    await page.goto('/leads?q=a');
    await expect(page).toHaveURL(/\/login\?next=/);
    await page.fill('input[name=email]', DEMO.email);
    await page.fill('input[name=password]', DEMO.password);
    await page.click('button[type=submit]');
    await expect(page).toHaveURL(/\/leads\?q=a$/);
    await expect(page.getByTestId('me')).toBeVisible();

    await page.getByTestId('sign-out').click();
    await expect(page).toHaveURL(/\/login/);
    await page.goto('/leads');
    await expect(page).toHaveURL(/\/login\?next=/);
    const me = await page.request.get('/api/v1/me');
    expect(me.status()).toBe(401);
  });
});
