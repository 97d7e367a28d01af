// CSV export (issue 20): export the list's filter from the Leads Database and read the file: the
// filter's leads only, the ticked columns, a formula-like name neutralised.
import { readFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';

/** RFC 4180 records (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; }
    else cell += c;
  }
  if (cell !== '' || row.length > 0) { row.push(cell); rows.push(row); }
  return rows;
}

test('exporting a filter downloads its leads with the chosen columns, safe for spreadsheets', async ({ page }) => {
  const tag = `export-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  for (const name of ['=1+1', 'Plain "Quoted", Name']) {
    const res = await page.request.post('/api/v1/leads', {
      data: { properties: [{ name: '$name', value: { type: 'text', value: name } }], tags: [tag] },
    });
    expect(res.status(), await res.text()).toBe(201);
  }
  const filter = JSON.stringify({ all: [{ kind: 'tag', tag }] });
  await page.goto(`/leads?filter=${encodeURIComponent(filter)}`);
  await expect(page.getByTestId('lead-row')).toHaveCount(2);

  await page.getByTestId('export-open').click();
  const panel = page.getByTestId('export-panel');
  await panel.locator('[data-testid=export-column][data-name="$phone"]').uncheck();
  await panel.locator('[data-testid=export-column][data-name="$user_id"]').uncheck();
  await panel.getByTestId('export-bom').check();
  // The file as the browser saves it.
  const [download] = await Promise.all([page.waitForEvent('download'), panel.getByTestId('export-download').click()]);
  expect(await download.failure()).toBeNull();
  expect(download.suggestedFilename()).toMatch(/^leads-.*\.csv$/);
  const bytes = readFileSync((await download.path())!);
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const rows = parseCsv(bytes.subarray(3).toString('utf8'));
  expect(rows[0]).toEqual(['id', '$name', '$email', 'tags', 'subscription_status', 'created_at']);
  expect(rows).toHaveLength(3);
  const names = rows.slice(1).map((r) => r[1]).sort();
  expect(names).toEqual(["'=1+1", 'Plain "Quoted", Name']);
  for (const row of rows.slice(1)) {
    expect(row[3]).toBe(tag);
    for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  }
});
