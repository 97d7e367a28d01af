// The lead card: opened from the list, its blocks, the card menu's Copy link, and not-found.
import { test, expect } from '@playwright/test';

test('clicking a name opens the card with its properties and subscription status', async ({ page }) => {
  await page.goto('/leads');
  const link = page.locator('[data-testid=lead-row] a.lead-row__name').first();
  const name = await link.innerText();
  await link.click();
  await expect(page).toHaveURL(/\/leads\/\d+$/);
  const card = page.getByTestId('lead-card');
  await expect(card.getByTestId('lead-name')).toHaveText(name);
  await expect(card.getByTestId('lead-presence')).toHaveText(/online|sleeping|offline/);
  await expect(card.getByTestId('lead-avatar')).toBeVisible();
  await expect(card.getByTestId('property-row').first()).toBeVisible();
  await expect(card.getByTestId('subscription-status')).toHaveText(/Subscribed|Waiting for confirmation|Invalid email|Unsubscribed|Bounced/);
});

test('the card shows what the API holds, rendered as text', async ({ page }) => {
  const res = await page.request.get('/api/v1/leads?limit=5');
  const { items } = await res.json();
  const lead = items.find((l: { email: string | null }) => l.email) ?? items[0];
  const card = await (await page.request.get(`/api/v1/leads/${lead.id}`)).json();
  await page.goto(`/leads/${lead.id}`);
  await expect(page.getByTestId('lead-name')).toHaveText(card.display_name);
  for (const prop of card.properties.filter((p: { value: { type: string } }) => p.value.type === 'text').slice(0, 3)) {
    const row = page.locator(`[data-testid=property-row][data-name="${prop.name}"]`);
    await expect(row.locator('.property__value')).toHaveText(prop.value.value);
  }
  for (const tag of card.tags) {
    await expect(page.getByTestId('lead-tags')).toContainText(tag);
  }
});

test('Copy link puts the card address on the clipboard', async ({ page, context, baseURL }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  const { items } = await (await page.request.get('/api/v1/leads?limit=1')).json();
  await page.goto(`/leads/${items[0].id}`);
  await page.getByTestId('card-menu').click();
  await page.getByTestId('copy-link').click();
  await expect(page.getByText('Copied')).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(`${baseURL}/leads/${items[0].id}`);
});

test('an unknown lead shows a clear not-found view', async ({ page }) => {
  await page.goto('/leads/999999999');
  await expect(page.getByTestId('not-found')).toBeVisible();
});
