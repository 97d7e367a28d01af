// CSV import in the console (issue 20): upload a file, read its preview and guessed mapping, change
// a column's type, check every row (a dry run), import, and read the report of the bad row; and a
// big import cancelled halfway keeps what it imported and says so.
import { readFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';

const stamp = () => `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

test('a small CSV with a bad row: checked, imported, and the report names the row', async ({ page }) => {
  const s = stamp();
  const tag = `imp-${s}`;
  const csv =
    'Name,Email,Seats,Tags\r\n' +
    `Ada ${s},ada-${s}@example.com,3,${tag}\r\n` +
    `Bob ${s},bob-${s}@example.com,many,${tag}\r\n` +
    `Cy ${s},cy-${s}@example.com,5,${tag}\r\n`;
  await page.goto('/leads');
  await page.getByTestId('import-open').click();
  await expect(page).toHaveURL(/\/leads\/import$/);
  await page.getByTestId('import-file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await expect(page.getByTestId('import-row')).toHaveCount(3);
  await expect(page.getByTestId('import-preview')).toContainText(`Bob ${s}`);
  await expect(page.locator('[data-testid=import-map][data-column="Email"]')).toHaveValue('$email');
  await expect(page.locator('[data-testid=import-map][data-column="Tags"]')).toHaveValue('tags');
  // Seats: a custom property (guessed as text), read as a number.
  await expect(page.locator('[data-testid=import-map][data-column="Seats"]')).toHaveValue('custom');
  await page.getByLabel('Type for column Seats').selectOption('number');

  await page.getByTestId('import-check').click();
  const job = page.getByTestId('job-progress');
  await expect(job).toContainText('Check people.csv');
  await expect(job).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('job-message')).toContainText('2 can be imported, 1 cannot');
  await expect(page.getByTestId('import-problem')).toHaveText([/^Line 3: column "Seats": "many" is not a number/]);
  let count = await page.request.get(`/api/v1/leads/count?filter=${encodeURIComponent(JSON.stringify({ all: [{ kind: 'tag', tag }] }))}`);
  expect((await count.json()).count, 'the check wrote nothing').toBe(0);

  await page.getByTestId('import-run').click();
  await expect(job).toContainText('Import people.csv');
  await expect(job).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('job-counts')).toContainText('2 created');
  await expect(page.getByTestId('job-counts')).toContainText('1 failed');
  await expect(page.getByTestId('import-problem')).toHaveText([/^Line 3: column "Seats"/]);
  await expect(page.getByTestId('import-run')).toBeDisabled();

  // The report as the browser downloads it.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('job-report').click()]);
  expect(download.suggestedFilename()).toMatch(/^job-\d+-report\.csv$/);
  const report = readFileSync((await download.path())!, 'utf8');
  expect(report.split('\r\n')[0]).toBe('line,reason');
  expect(report).toContain('3,"column ""Seats"": ""many"" is not a number"');

  count = await page.request.get(`/api/v1/leads/count?filter=${encodeURIComponent(JSON.stringify({ all: [{ kind: 'tag', tag }] }))}`);
  expect((await count.json()).count).toBe(2);
  await page.goto(`/leads?filter=${encodeURIComponent(JSON.stringify({ all: [{ kind: 'tag', tag }] }))}`);
  await expect(page.getByTestId('lead-row')).toHaveCount(2);
});

test('a big import cancelled halfway keeps what it imported and says so', async ({ page }) => {
  const s = stamp();
  const rows = 200_000;
  const lines = ['Name,Email'];
  for (let i = 0; i < rows; i++) lines.push(`Big ${i},big-${s}-${i}@example.com`);
  await page.goto('/leads/import');
  await page.getByTestId('import-file').setInputFiles({ name: 'big.csv', mimeType: 'text/csv', buffer: Buffer.from(lines.join('\n')) });
  await expect(page.getByTestId('import-row')).toHaveCount(10);
  await page.getByTestId('import-run').click();
  const job = page.getByTestId('job-progress');
  await expect(job).toHaveAttribute('data-state', 'running');
  // Halfway, or at least some way: the bar has moved.
  await expect.poll(async () => Number(await page.getByTestId('job-bar').getAttribute('value') ?? 0), { timeout: 30_000 }).toBeGreaterThan(0);
  await page.getByTestId('job-cancel').click();
  await expect(job).toHaveAttribute('data-state', 'cancelled', { timeout: 30_000 });
  await expect(page.getByTestId('job-message')).toContainText('Cancelled after');
  await expect(page.getByTestId('job-message')).toContainText('stays');
  const counts = await page.getByTestId('job-counts').textContent();
  const created = Number(/([\d,]+) created/.exec(counts ?? '')?.[1].replaceAll(',', ''));
  expect(created).toBeGreaterThan(0);
  expect(created).toBeLessThan(rows);
  // What the job says it created is there.
  const first = await page.request.get(`/api/v1/leads?q=${encodeURIComponent(`big-${s}-0@example.com`)}`);
  expect((await first.json()).items).toHaveLength(1);
});
