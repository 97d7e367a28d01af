// A lead added by hand (issue 20): the "New lead" form in the Leads Database opens the new card;
// a second card for the same user ID is refused under that field.
import { test, expect } from '@playwright/test';

test('a lead added by hand opens its card, and a second one with its user ID is refused', async ({ page }) => {
  const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await page.goto('/leads');
  await page.getByTestId('new-lead').click();
  const form = page.getByTestId('new-lead-form');
  await form.locator('[name="$name"]').fill('Hand Made');
  await form.locator('[name="$email"]').fill(`hand-${stamp}@example.com`);
  await form.locator('[name="$phone"]').fill('+49 30 555 0101');
  await form.locator('[name="$user_id"]').fill(`hand-${stamp}`);
  await form.locator('[name="tags"]').fill('walk-in, fair');
  await page.getByTestId('new-lead-add-property').click();
  const extra = page.getByTestId('new-lead-property');
  await extra.locator('[name="property-name"]').fill('Seats');
  await extra.locator('[name="property-type"]').selectOption('number');
  await extra.locator('[name="value"]').fill('12');
  await page.getByTestId('new-lead-save').click();

  await expect(page).toHaveURL(/\/leads\/\d+$/);
  const card = page.getByTestId('lead-card');
  await expect(card).toContainText('Hand Made');
  await expect(page.locator('[data-testid=property-row][data-name="Seats"]')).toContainText('12');
  await expect(page.locator('[data-testid=property-row][data-name="$user_id"]')).toContainText(`hand-${stamp}`);
  await expect(card).toContainText('walk-in');

  await page.goto('/leads');
  await page.getByTestId('new-lead').click();
  await form.locator('[name="$name"]').fill('Someone Else');
  await form.locator('[name="$user_id"]').fill(`hand-${stamp}`);
  await page.getByTestId('new-lead-save').click();
  const refusal = page.locator('[data-testid=field-error][data-field="$user_id"]');
  await expect(refusal).toContainText('already has this user ID');
  await expect(page).toHaveURL(/\/leads$/);

  // The core check runs before anything is sent: nothing to know the lead by.
  await form.locator('[name="$name"]').fill('');
  await form.locator('[name="$user_id"]').fill('');
  await page.getByTestId('new-lead-save').click();
  await expect(page.getByTestId('form-error')).toContainText('at least a name');
});
