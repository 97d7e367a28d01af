// Sorting the Leads Database (issue 20): a header click sorts by last seen, the order is kept in
// the URL, and a reload shows the same order, which is the API's.
import { test, expect, type Page } from '@playwright/test';

async function shownIds(page: Page, count: number): Promise<string[]> {
  const links = page.getByTestId('lead-row').locator('.lead-row__name');
  await expect(links.nth(count - 1)).toBeVisible();
  const hrefs = await links.evaluateAll((all) => all.map((a) => a.getAttribute('href') ?? ''));
  return hrefs.slice(0, count).map((href) => href.split('/').pop()!);
}

test('sorting by last seen is kept in the URL and a reload shows the same order', async ({ page }) => {
  await page.goto('/leads');
  await expect(page.getByTestId('lead-row').first()).toBeVisible();
  await page.locator('[data-testid=sort-header][data-key=last_seen]').click();
  await expect(page).toHaveURL(/[?&]sort=-last_seen/);
  await expect(page.locator('[role=columnheader][aria-sort=descending]')).toContainText('Last seen');

  const api = await page.request.get('/api/v1/leads?sort=-last_seen&limit=8');
  expect(api.status()).toBe(200);
  const expected = ((await api.json()).items as { id: number }[]).map((lead) => String(lead.id));
  await expect.poll(() => shownIds(page, 8)).toEqual(expected);

  await page.reload();
  await expect(page.locator('[role=columnheader][aria-sort=descending]')).toContainText('Last seen');
  expect(await shownIds(page, 8)).toEqual(expected);

  // A second click turns the order round.
  await page.locator('[data-testid=sort-header][data-key=last_seen]').click();
  await expect(page).toHaveURL(/[?&]sort=last_seen/);
  const ascending = await page.request.get('/api/v1/leads?sort=last_seen&limit=8');
  const ascendingIds = ((await ascending.json()).items as { id: number }[]).map((lead) => String(lead.id));
  await expect.poll(() => shownIds(page, 8)).toEqual(ascendingIds);
});
