// Bulk actions (issue 21): tick a row, take every lead of the filter, tag them all as a job whose
// progress shows live while another page's count follows; then a second job cancelled halfway
// says what it kept. The server runs in test mode: bulk jobs go 10 leads a batch with a pause of 250 ms.
import { test, expect, type APIRequestContext } from '@playwright/test';

async function addLeads(request: APIRequestContext, marker: string, n: number) {
  for (let start = 0; start < n; start += 10) {
    await Promise.all(Array.from({ length: Math.min(10, n - start) }, async (_, k) => {
      const res = await request.post('/api/v1/leads', {
        data: { properties: [{ name: '$name', value: { type: 'text', value: `Bulk ${marker} ${start + k}` } }], tags: [marker] },
      });
      expect(res.status(), await res.text()).toBe(201);
    }));
  }
}

const byTag = (tag: string) => `/leads?filter=${encodeURIComponent(JSON.stringify({ all: [{ kind: 'tag', tag }] }))}`;

test('tagging every lead of a filter shows live, and a second job cancelled halfway keeps what it did', async ({ page, context }) => {
  const marker = `bulk${Date.now()}${Math.floor(Math.random() * 1e4)}`;
  const done = `${marker}-done`;
  await addLeads(page.request, marker, 100);

  // Another page lists the leads with the new tag: none yet, then all of them, live.
  const watcher = await context.newPage();
  await watcher.goto(byTag(done));
  await expect(watcher.getByTestId('live-status')).toHaveAttribute('data-connected', 'true');
  await expect(watcher.getByText('No leads match this search and filter.')).toBeVisible();

  await page.goto(byTag(marker));
  await expect(page.getByTestId('leads-total')).toHaveText('100 leads');
  await page.getByTestId('select-row').first().check();
  await page.getByTestId('select-row').nth(3).click({ modifiers: ['Shift'] });
  await expect(page.getByTestId('selection-count')).toHaveText('4 selected leads');
  await page.getByTestId('select-all-matching').click();
  await expect(page.getByTestId('selection-count')).toContainText('all 100 leads');

  await page.getByTestId('bulk-open').click();
  const dialog = page.getByTestId('bulk-dialog');
  await dialog.getByTestId('bulk-action').selectOption('add_tag');
  await dialog.getByTestId('bulk-tag').fill(done);
  await dialog.getByTestId('bulk-start').click();
  await expect(dialog.getByTestId('bulk-summary')).toHaveText(`Add tag ${done} to 100 leads`);
  const job = dialog.getByTestId('job-progress');
  await expect(job).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(dialog.getByTestId('job-counts')).toContainText('100 changed');
  await expect(watcher.getByTestId('leads-total')).toHaveText('100 leads', { timeout: 15_000 });
  await dialog.getByTestId('bulk-close').click();
  await page.getByTestId('selection-clear').click();

  // A second job, cancelled after its first batches.
  await page.getByTestId('select-row').first().check();
  await page.getByTestId('select-all-matching').click();
  await page.getByTestId('bulk-open').click();
  await dialog.getByTestId('bulk-action').selectOption('remove_tag');
  await dialog.getByTestId('bulk-tag').fill(done);
  await dialog.getByTestId('bulk-start').click();
  await expect(job).toHaveAttribute('data-state', 'running');
  await dialog.getByTestId('job-cancel').click();
  await expect(job).toHaveAttribute('data-state', 'cancelled', { timeout: 30_000 });
  await expect(dialog.getByTestId('job-message')).toContainText('Cancelled after');
  const kept = await (await page.request.post('/api/v1/leads/bulk/count', {
    data: { selection: { filter: { all: [{ kind: 'tag', tag: done }] } } },
  })).json();
  expect(kept.count).toBeGreaterThan(0);
  expect(kept.count).toBeLessThan(100);
});
