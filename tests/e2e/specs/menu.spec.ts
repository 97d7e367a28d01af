// The card's menu (issue 6): unsubscribe follows the address onto every card, live; hide leaves
// Visitors until the next activity; remove completely erases the card.
import { test, expect, type Page } from '@playwright/test';
import { seededLeads } from '../seeded';

async function leads(page: Page) {
  return seededLeads(page.request);
}

test('unsubscribing on one card changes every open card with the same address', async ({ page, context }) => {
  const all = await leads(page);
  // Two leads sharing an address the rules still let an operator unsubscribe.
  const byEmail = new Map<string, number[]>();
  for (const lead of all) {
    if (!lead.email) continue;
    const key = lead.email.trim().toLowerCase();
    byEmail.set(key, [...(byEmail.get(key) ?? []), lead.id]);
  }
  let pair: number[] | undefined;
  for (const ids of byEmail.values()) {
    if (ids.length < 2) continue;
    const card = await (await page.request.get(`/api/v1/leads/${ids[0]}`)).json();
    if (card.subscription.actions.unsubscribe.allowed) {
      pair = ids;
      break;
    }
  }
  expect(pair, 'the demo data has two leads sharing a subscribed address').toBeTruthy();
  const [first, second] = pair!;

  await page.goto(`/leads/${first}`);
  const other = await context.newPage();
  await other.goto(`/leads/${second}`);
  await expect(other.getByTestId('live-status')).toHaveAttribute('data-connected', 'true');
  await expect(other.getByTestId('subscription')).not.toHaveAttribute('data-status', 'unsubscribed');

  await page.getByTestId('card-menu').click();
  await page.getByTestId('menu-unsubscribe').click();
  await expect(page.getByTestId('subscription')).toHaveAttribute('data-status', 'unsubscribed');
  await expect(other.getByTestId('subscription')).toHaveAttribute('data-status', 'unsubscribed');

  // Operators cannot subscribe anyone back: the action is now refused, with the reason.
  await page.getByTestId('card-menu').click();
  await expect(page.getByTestId('menu-unsubscribe')).toBeDisabled();
  await expect(page.getByTestId('menu-unsubscribe')).toContainText('already unsubscribed');
});

test('hide takes a visitor out of Visitors until their next activity', async ({ page, browser, baseURL }) => {
  const marker = `h${Date.now()}`;
  const context = await browser.newContext({ baseURL, storageState: undefined });
  const site = await context.newPage();
  await site.goto(`/demo/?hb=1&m=${marker}`);
  await page.goto('/visitors');
  const mine = page.getByTestId('visitor-row').filter({ has: page.locator(`[data-testid=visitor-page][title$="m=${marker}"]`) });
  await expect(mine).toHaveCount(1);

  await mine.getByTestId('visitor-open').click();
  await page.getByTestId('card-menu').click();
  await page.getByTestId('menu-hide').click();
  await expect(mine).toHaveCount(0);

  // The visitor does something on the site: back in the list.
  await site.mouse.move(20, 20);
  await site.keyboard.press('ArrowDown');
  await site.mouse.wheel(0, 200);
  await expect(mine).toHaveCount(1);
  await context.close();
});

test('remove completely needs the name typed, then the card and its link are gone', async ({ page }) => {
  const all = await leads(page);
  const lead = all[150];
  await page.goto(`/leads/${lead.id}`);
  await page.getByTestId('card-menu').click();
  await page.getByTestId('menu-remove').click();
  const dialog = page.getByTestId('remove-dialog');
  await dialog.getByTestId('remove-confirm').fill('someone else');
  await expect(dialog.getByTestId('remove-submit')).toBeDisabled();
  await dialog.getByTestId('remove-confirm').fill(lead.display_name.toUpperCase());
  await dialog.getByTestId('remove-submit').click();
  await expect(page.getByTestId('lead-removed')).toBeVisible();

  expect((await page.request.get(`/api/v1/leads/${lead.id}`)).status()).toBe(404);
  await page.goto(`/leads/${lead.id}`);
  await expect(page.getByText('There is no lead with this id')).toBeVisible();
});
