// Segments (issue 5): a segment saved from a Leads filter; a lead that does not match enters it
// when the operator changes the property on its card — shown at once, without reload, with the
// reason in the timeline.
import { test, expect } from '@playwright/test';
import { seededLead } from '../seeded';

test('a segment from a filter; a card edit moves the lead in, and the timeline says why', async ({ page }) => {
  const tier = `gold-${Date.now()}`;
  const segment = `Tier ${tier}`;
  const filter = JSON.stringify({ all: [{ kind: 'property', name: 'tier', op: 'equals', value: tier }] });
  await page.goto(`/leads?filter=${encodeURIComponent(filter)}`);
  await expect(page.getByTestId('leads-total')).toHaveText('0 leads');
  await page.getByTestId('filter-save-segment').click();

  const editor = page.getByTestId('segment-editor');
  await expect(editor.getByTestId('segment-count')).toContainText('0 leads match');
  await editor.locator('input[name=segment-name]').fill(segment);
  await editor.getByTestId('segment-save').click();
  await expect(page.getByTestId('segment-row').filter({ hasText: segment })).toHaveCount(1);

  const id = await seededLead(page.request, 60);
  await page.goto(`/leads/${id}`);
  const segments = page.getByTestId('lead-segments');
  await expect(segments).toBeVisible();
  await expect(segments.getByTestId('lead-segment').filter({ hasText: segment })).toHaveCount(0);

  await page.getByTestId('property-add').click();
  const form = page.getByTestId('property-add-form');
  await form.locator('input[name=name]').fill('tier');
  await form.locator('select[name=type]').selectOption('text');
  await form.locator('[name=value]').fill(tier);
  await form.getByTestId('property-add-save').click();

  await expect(segments.getByTestId('lead-segment').filter({ hasText: segment })).toHaveCount(1);
  const entry = page.getByTestId('segment-history-entry').filter({ hasText: segment }).first();
  await expect(entry).toHaveAttribute('data-entered', 'true');
  await expect(entry).toContainText('tier');
  await expect(entry).toContainText(tier);
});

test('a bad condition is refused next to it, by the page and by the server', async ({ page }) => {
  await page.goto('/segments');
  await page.getByTestId('segment-new').click();
  const editor = page.getByTestId('segment-editor');
  await editor.getByTestId('filter-add').click();
  const row = editor.getByTestId('filter-condition');
  await row.locator('select[name=kind]').selectOption('event');
  await row.locator('input[name=event]').fill('Added to cart');
  await row.locator('input[name=days]').fill('0');
  await editor.getByTestId('filter-apply').click();
  await expect(row.getByTestId('filter-error')).toContainText('days');
});

test('a filter with "is in segment"; a saved segment has its own URL that reloads to it', async ({ page }) => {
  const tier = `seg-${Date.now()}`;
  const base = `Base ${tier}`;
  const id = await seededLead(page.request, 142);
  const card = await page.request.get(`/api/v1/leads/${id}`);
  const set = await page.request.patch(`/api/v1/leads/${id}/properties`, {
    data: { operations: [{ op: 'set', name: 'tier', value: { type: 'text', value: tier } }] },
    headers: { 'If-Match': card.headers()['etag'] },
  });
  expect(set.status()).toBe(200);
  const created = await page.request.post('/api/v1/segments', {
    data: { name: base, filter: { all: [{ kind: 'property', name: 'tier', op: 'equals', value: tier }] } },
  });
  expect(created.status()).toBe(201);
  const baseId = (await created.json()).id;

  // The Leads Database: "is in segment" lists the lead; "is not in" leaves it out.
  await page.goto('/leads');
  await page.getByTestId('filter-add').click();
  const row = page.getByTestId('filter-condition');
  await row.locator('select[name=kind]').selectOption('segment');
  await row.locator('select[name=segment]').selectOption(String(baseId));
  await page.getByTestId('filter-apply').click();
  await expect(page.getByTestId('leads-total')).toHaveText('1 lead');
  await expect(page).toHaveURL(/filter=/);
  await row.locator('select[name=in-segment]').selectOption('not-in');
  await page.getByTestId('filter-apply').click();
  await expect(page.getByTestId('leads-total')).not.toHaveText('1 lead');

  // A segment of a segment, saved, then opened by its own URL and reloaded.
  const follow = `Follow ${tier}`;
  await page.goto('/segments');
  await page.getByTestId('segment-new').click();
  const editor = page.getByTestId('segment-editor');
  await editor.locator('input[name=segment-name]').fill(follow);
  await editor.getByTestId('filter-add').click();
  const condition = editor.getByTestId('filter-condition');
  await condition.locator('select[name=kind]').selectOption('segment');
  await condition.locator('select[name=segment]').selectOption(String(baseId));
  await editor.getByTestId('filter-apply').click();
  await expect(editor.getByTestId('segment-count')).toContainText('1 lead matches');
  await editor.getByTestId('segment-save').click();
  await expect(page).toHaveURL(/\/segments\/\d+$/);
  const followId = Number(page.url().split('/').pop());

  await page.goto('/segments');
  await page.getByTestId('segment-row').filter({ hasText: base }).getByTestId('segment-open').click();
  await expect(page).toHaveURL(new RegExp(`/segments/${baseId}$`));
  await page.reload();
  const reopened = page.getByTestId('segment-editor');
  await expect(reopened.locator('input[name=segment-name]')).toHaveValue(base);

  // Its own condition list cannot name itself; naming the segment that names it is a cycle.
  await reopened.getByTestId('filter-add').click();
  const cycle = reopened.getByTestId('filter-condition').last();
  await cycle.locator('select[name=kind]').selectOption('segment');
  await expect(cycle.locator(`select[name=segment] option[value="${baseId}"]`)).toHaveCount(0);
  await cycle.locator('select[name=segment]').selectOption(String(followId));
  await reopened.getByTestId('filter-apply').click();
  await expect(cycle.getByTestId('filter-error')).toContainText('cycle');

  await page.goto(`/segments/${followId}`);
  await expect(page.getByTestId('segment-editor').locator('input[name=segment-name]')).toHaveValue(follow);
  await page.goto('/segments/99999999');
  await expect(page.getByTestId('segment-missing')).toContainText('no segment');
});

test("an open segment's count follows leads as they enter and leave it, without a reload", async ({ page }) => {
  const tag = `live-count-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const created = await page.request.post('/api/v1/segments', {
    data: { name: `Live ${tag}`, filter: { all: [{ kind: 'tag', tag }] } },
  });
  expect(created.status()).toBe(201);
  await page.goto(`/segments/${(await created.json()).id}`);
  const count = page.getByTestId('segment-editor').getByTestId('segment-count');
  await expect(count).toContainText('0 leads match');

  // Two leads created with the tag elsewhere (another operator, an import): counted again live.
  const ids: number[] = [];
  for (const name of ['First', 'Second']) {
    const res = await page.request.post('/api/v1/leads', {
      data: { properties: [{ name: '$name', value: { type: 'text', value: `${name} ${tag}` } }], tags: [tag] },
    });
    expect(res.status(), await res.text()).toBe(201);
    ids.push((await res.json()).id);
  }
  await expect(count).toContainText('2 leads match');

  // One leaves (its tag removed), then the other is removed completely.
  const untag = await page.request.delete(`/api/v1/leads/${ids[0]}/tags/${encodeURIComponent(tag)}`, {
    headers: { 'X-Requested-With': 'leadcard' },
  });
  expect(untag.status(), await untag.text()).toBe(200);
  await expect(count).toContainText('1 lead matches');
  const gone = await page.request.delete(`/api/v1/leads/${ids[1]}`, { data: { confirm: `Second ${tag}` } });
  expect(gone.status(), await gone.text()).toBe(204);
  await expect(count).toContainText('0 leads match');
});
