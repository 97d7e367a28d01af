// The Leads Database is live (issue 19): with a filter applied, a new lead that matches is
// announced above the list ("1 new lead — show") rather than pushed under the cursor, an edited
// lead's row changes in place, a lead that no longer matches or is removed leaves, and the total
// follows; all without a reload.
import { test, expect, type APIRequestContext, type Page } from '@playwright/test';
import { seededLeads } from '../seeded';

async function tag(request: APIRequestContext, id: number, name: string) {
  const res = await request.post(`/api/v1/leads/${id}/tags`, { data: { tag: name } });
  expect(res.status(), await res.text()).toBe(200);
}

function row(page: Page, id: number) {
  return page.locator(`[data-testid=lead-row][data-lead-id="${id}"]`);
}

test('new, edited and removed leads show in the filtered list as they happen, and the total follows', async ({ page, browser, baseURL }) => {
  const marker = `ll${Date.now()}`;
  const seeded = await seededLeads(page.request);
  const [older, old] = [seeded[143].id, seeded[144].id];
  await tag(page.request, older, marker);
  await tag(page.request, old, marker);

  const filter = encodeURIComponent(JSON.stringify({ all: [{ kind: 'tag', tag: marker }] }));
  await page.goto(`/leads?filter=${filter}`);
  await expect(page.getByTestId('live-status')).toHaveAttribute('data-connected', 'true');
  await expect(page.getByTestId('lead-row')).toHaveCount(2);
  await expect(page.getByTestId('leads-total')).toHaveText('2 leads');
  await expect(page.getByTestId('leads-arrived')).toHaveCount(0);

  // A new lead (a visitor of the demo shop) that comes to match: announced, not inserted.
  const context = await browser.newContext({ baseURL, storageState: undefined });
  const site = await context.newPage();
  await site.goto(`/demo/?m=${marker}`);
  let fresh: number | undefined;
  await expect
    .poll(async () => {
      const list = await (await page.request.get('/api/v1/visitors')).json();
      fresh = list.items.find((v: any) => (v.page_url ?? '').endsWith(`m=${marker}`))?.id;
      return fresh !== undefined;
    })
    .toBe(true);
  await context.close();
  await tag(page.request, fresh!, marker);
  await expect(page.getByTestId('leads-arrived')).toHaveText(/^1 new lead — show$/);
  await expect(page.getByTestId('leads-total')).toHaveText('3 leads');
  await expect(page.getByTestId('lead-row')).toHaveCount(2);
  await page.getByTestId('leads-arrived-show').click();
  await expect(page.getByTestId('leads-arrived')).toHaveCount(0);
  await expect(page.getByTestId('lead-row')).toHaveCount(3);
  await expect(page.getByTestId('lead-row').first()).toHaveAttribute('data-lead-id', String(fresh));

  // An edit shows in the row, in its place.
  const label = `${marker}-edited`;
  await tag(page.request, old, label);
  await expect(row(page, old)).toContainText(label);
  await expect(page.getByTestId('lead-row').nth(1)).toHaveAttribute('data-lead-id', String(old));

  // A lead that no longer matches leaves; a lead removed completely leaves.
  const untag = await page.request.delete(`/api/v1/leads/${older}/tags/${encodeURIComponent(marker)}`, {
    headers: { 'X-Requested-With': 'leadcard' },
  });
  expect(untag.status(), await untag.text()).toBe(200);
  await expect(row(page, older)).toHaveCount(0);
  await expect(page.getByTestId('leads-total')).toHaveText('2 leads');
  // An anonymous visitor has neither name nor email: "Lead #<id>" confirms.
  const removed = await page.request.delete(`/api/v1/leads/${fresh}`, { data: { confirm: `Lead #${fresh}` } });
  expect(removed.status(), await removed.text()).toBe(204);
  await expect(row(page, fresh!)).toHaveCount(0);
  await expect(page.getByTestId('lead-row')).toHaveCount(1);
  await expect(page.getByTestId('leads-total')).toHaveText('1 lead');
});
