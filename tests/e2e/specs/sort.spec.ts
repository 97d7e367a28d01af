// Sorting the Leads Database (issue 20): a header click sorts by last seen, the order is kept in
// the URL, and a reload shows the same order, which is the API's.
import { test, expect, type Page } from '@playwright/test';

async function shownIds(page: Page, count: number): Promise<string[]> {
  const links = page.getByTestId('lead-row').locator('.lead-row__name');
  await expect(links.nth(count - 1)).toBeVisible();
  const hrefs = await links.evaluateAll((all) => all.map((a) => a.getAttribute('href') ?? ''));
  return hrefs.slice(0, count).map((href) => href.split('/').pop()!);
}

async function apiIds(page: Page, sort: string): Promise<string[]> {
  const api = await page.request.get(`/api/v1/leads?sort=${sort}&limit=8`);
  expect(api.status()).toBe(200);
  return ((await api.json()).items as { id: number }[]).map((lead) => String(lead.id));
}

/** The page shows the API's order. Other specs' visitors may move a lead (its last seen) between
 * two reads, so the page may match the API's answer from just before or just after. */
async function showsTheApisOrder(page: Page, sort: string) {
  await expect(async () => {
    const before = await apiIds(page, sort);
    const shown = await shownIds(page, 8);
    const after = await apiIds(page, sort);
    expect([before.join(), after.join()]).toContain(shown.join());
  }).toPass({ timeout: 20_000 });
}

test('sorting by last seen is kept in the URL and a reload shows the same order', async ({ page }) => {
  await page.goto('/leads');
  await expect(page.getByTestId('lead-row').first()).toBeVisible();
  await page.locator('[data-testid=sort-header][data-key=last_seen]').click();
  await expect(page).toHaveURL(/[?&]sort=-last_seen/);
  await expect(page.locator('[role=columnheader][aria-sort=descending]')).toContainText('Last seen');
  await showsTheApisOrder(page, '-last_seen');

  await page.reload();
  await expect(page).toHaveURL(/[?&]sort=-last_seen/);
  await expect(page.locator('[role=columnheader][aria-sort=descending]')).toContainText('Last seen');
  await showsTheApisOrder(page, '-last_seen');

  // A second click turns the order round.
  await page.locator('[data-testid=sort-header][data-key=last_seen]').click();
  await expect(page).toHaveURL(/[?&]sort=last_seen/);
  await showsTheApisOrder(page, 'last_seen');
});
