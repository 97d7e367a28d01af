// Editing the card (issue 3): pins, copy, typed editors, inline email reasons, delete with undo,
// add property, tags, notes, local time, and the conflict view for a stale edit.
import { test, expect, type Page, type APIRequestContext } from '@playwright/test';
import { seededLead } from '../seeded';

/** A lead of its own for each test, so parallel tests never edit the same card. */
async function leadFor(request: APIRequestContext, slot: number): Promise<number> {
  return seededLead(request, slot);
}

async function patch(request: APIRequestContext, id: number, operations: unknown[]) {
  const card = await request.get(`/api/v1/leads/${id}`);
  const res = await request.patch(`/api/v1/leads/${id}/properties`, {
    data: { operations },
    headers: { 'If-Match': card.headers()['etag'] },
  });
  expect(res.status(), await res.text()).toBe(200);
  return res.json();
}

function row(page: Page, name: string) {
  return page.locator(`[data-testid=property-row][data-name="${name}"]`);
}

test('a pinned property shows in the header, survives reload, and unpins from the header', async ({ page }) => {
  const id = await leadFor(page.request, 3);
  await page.request.put('/api/v1/pins', { data: { names: [] } });
  await page.goto(`/leads/${id}`);
  const first = page.getByTestId('property-row').first();
  const name = (await first.getAttribute('data-name'))!;
  await first.hover();
  // The header shows the pin at once; reload only after the server stored it.
  const stored = () => page.waitForResponse((r) => r.url().endsWith('/api/v1/pins') && r.request().method() === 'PUT');
  await Promise.all([stored(), first.getByTestId('pin').click()]);
  const pinned = page.locator(`[data-testid=pinned-property][data-name="${name}"]`);
  await expect(pinned).toBeVisible();
  await page.reload();
  await expect(pinned).toBeVisible();
  await Promise.all([stored(), pinned.getByTestId('unpin').click()]);
  await expect(pinned).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId('lead-card')).toBeVisible();
  await expect(pinned).toHaveCount(0);
});

test('clicking a value copies it to the clipboard', async ({ page, context, baseURL }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  const id = await leadFor(page.request, 4);
  await page.goto(`/leads/${id}`);
  const value = row(page, '$name').locator('.property__value');
  const text = await value.innerText();
  await value.click();
  await expect(page.getByTestId('toast')).toContainText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(text);
});

test('editing a number and a date saves typed values', async ({ page }) => {
  const id = await leadFor(page.request, 5);
  await patch(page.request, id, [
    { op: 'set', name: 'Last purchase amount', value: { type: 'number', value: 10 } },
    { op: 'set', name: 'Renewal', value: { type: 'date_time', value: '2026-01-15T09:30:00Z' } },
  ]);
  await page.goto(`/leads/${id}`);

  const amount = row(page, 'Last purchase amount');
  await amount.getByTestId('property-menu').click();
  await amount.getByTestId('property-edit').click();
  const editor = page.getByTestId('property-editor');
  await editor.locator('input[name=value]').fill('120.5');
  await editor.getByTestId('editor-save').click();
  await expect(amount.locator('.property__value')).toHaveText('120.5');

  const renewal = row(page, 'Renewal');
  await renewal.getByTestId('property-menu').click();
  await renewal.getByTestId('property-edit').click();
  await page.getByTestId('property-editor').locator('input[name=value]').fill('2027-03-01T10:00');
  await page.getByTestId('property-editor').getByTestId('editor-save').click();
  await expect(page.getByTestId('property-editor')).toHaveCount(0);

  const card = await (await page.request.get(`/api/v1/leads/${id}`)).json();
  const props = Object.fromEntries(card.properties.map((p: { name: string; value: unknown }) => [p.name, p.value]));
  expect(props['Last purchase amount']).toEqual({ type: 'number', value: 120.5 });
  expect(props['Renewal'].type).toBe('date_time');
  const offset = await page.evaluate(() => new Date('2027-03-01T10:00').toISOString());
  expect(new Date(props['Renewal'].value).toISOString()).toBe(offset);
});

test('a Cyrillic email shows why it is invalid while typing, and saving it shows Invalid email', async ({ page }) => {
  const id = await leadFor(page.request, 6);
  await page.goto(`/leads/${id}`);
  const email = row(page, '$email');
  await email.getByTestId('property-menu').click();
  await email.getByTestId('property-edit').click();
  const editor = page.getByTestId('property-editor');
  await editor.locator('input[name=value]').fill('иван@пример.рф');
  await expect(editor.getByTestId('editor-error')).toContainText('non-ASCII');
  await editor.getByTestId('editor-save').click();
  await expect(email.locator('.property__value')).toHaveText('иван@пример.рф');
  await expect(page.getByTestId('subscription-status')).toContainText('Invalid email');
});

test('delete offers undo, and undo brings the value back', async ({ page }) => {
  const id = await leadFor(page.request, 7);
  await patch(page.request, id, [{ op: 'set', name: 'Favourite colour', value: { type: 'text', value: 'teal' } }]);
  await page.goto(`/leads/${id}`);
  const colour = row(page, 'Favourite colour');
  await colour.getByTestId('property-menu').click();
  await colour.getByTestId('property-delete').click();
  await expect(colour).toHaveCount(0);
  await page.getByTestId('toast-undo').click();
  await expect(row(page, 'Favourite colour').locator('.property__value')).toHaveText('teal');
  await page.reload();
  await expect(row(page, 'Favourite colour').locator('.property__value')).toHaveText('teal');

  const again = row(page, 'Favourite colour');
  await again.getByTestId('property-menu').click();
  await again.getByTestId('property-delete').click();
  await expect(page.getByTestId('toast-undo')).toBeVisible();
  await expect(page.getByTestId('toast-undo')).toHaveCount(0, { timeout: 10_000 });
  await page.reload();
  await expect(page.getByTestId('lead-card')).toBeVisible();
  await expect(row(page, 'Favourite colour')).toHaveCount(0);
});

test('adding a property checks its name and saves it', async ({ page }) => {
  const id = await leadFor(page.request, 8);
  await page.goto(`/leads/${id}`);
  await page.getByTestId('property-add').click();
  const form = page.getByTestId('property-add-form');
  await form.locator('input[name=name]').fill('$plan');
  await form.locator('select[name=type]').selectOption('text');
  await form.locator('[name=value]').fill('Pro');
  await form.getByTestId('property-add-save').click();
  await expect(form.getByTestId('property-add-error')).toContainText('$');
  await form.locator('input[name=name]').fill('Plan tier');
  await form.getByTestId('property-add-save').click();
  await expect(row(page, 'Plan tier').locator('.property__value')).toHaveText('Pro');
});

test('a tag and a note are added; the note is text, newest first, and can be deleted', async ({ page }) => {
  const id = await leadFor(page.request, 9);
  await page.goto(`/leads/${id}`);
  const tag = `e2e-${Date.now()}`;
  await page.getByTestId('tag-input').fill(tag);
  await page.getByTestId('tag-input').press('Enter');
  await expect(page.getByTestId('lead-tags').getByTestId('tag').filter({ hasText: tag })).toBeVisible();

  await page.getByTestId('note-input').fill('first note');
  await page.getByTestId('note-add').click();
  const body = 'Called <img src=x onerror="window.__pwned=1">\nsecond line';
  await page.getByTestId('note-input').fill(body);
  await page.getByTestId('note-add').click();
  const notes = page.getByTestId('note');
  await expect(notes.first().locator('.note__body')).toHaveText(body);
  await expect(notes.nth(1).locator('.note__body')).toHaveText('first note');
  await expect(notes.first().locator('.note__author')).toContainText('Demo');
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

  await page.reload();
  await expect(page.getByTestId('note').first().locator('.note__body')).toHaveText(body);
  await page.getByTestId('note').first().getByTestId('note-delete').click();
  await expect(page.getByTestId('note').first().locator('.note__body')).toHaveText('first note');

  await page.goto(`/leads?filter=${encodeURIComponent(JSON.stringify({ all: [{ kind: 'tag', tag, has: true }] }))}`);
  await expect(page.getByTestId('lead-row')).toHaveCount(1);
});

test('the lead local time follows its time zone; an unknown zone shows none', async ({ page }) => {
  const id = await leadFor(page.request, 10);
  await patch(page.request, id, [
    { op: 'set', name: '$city', value: { type: 'text', value: 'Tokyo' } },
    { op: 'set', name: '$timezone', value: { type: 'text', value: 'Asia/Tokyo' } },
  ]);
  await page.goto(`/leads/${id}`);
  await expect(page.getByTestId('location')).toContainText('Tokyo');
  const expected = await page.evaluate(() =>
    new Intl.DateTimeFormat(undefined, { timeZone: 'Asia/Tokyo', hour: '2-digit', minute: '2-digit' }).format(new Date()),
  );
  await expect(page.getByTestId('local-time')).toContainText(expected.slice(0, 2));

  await patch(page.request, id, [{ op: 'set', name: '$timezone', value: { type: 'text', value: 'Mars/Olympus' } }]);
  await page.reload();
  await expect(page.getByTestId('location')).toContainText('Tokyo');
  await expect(page.getByTestId('local-time')).toHaveCount(0);
});

test('a stale edit from a second browser shows the conflict view, and keeping mine wins', async ({ page, browser }) => {
  const id = await leadFor(page.request, 11);
  await patch(page.request, id, [{ op: 'set', name: 'Plan', value: { type: 'text', value: 'Basic' } }]);
  await page.goto(`/leads/${id}`);
  await expect(row(page, 'Plan').locator('.property__value')).toHaveText('Basic');
  // The operator starts editing Basic ...
  const plan = row(page, 'Plan');
  await plan.getByTestId('property-menu').click();
  await plan.getByTestId('property-edit').click();
  await page.getByTestId('property-editor').locator('input[name=value]').fill('Pro');

  // ... while a colleague changes it in another browser.
  const other = await browser.newContext({ storageState: 'test-results/.auth/demo.json' });
  const second = await other.newPage();
  await second.goto(`/leads/${id}`);
  const plan2 = second.locator('[data-testid=property-row][data-name="Plan"]');
  await plan2.getByTestId('property-menu').click();
  await plan2.getByTestId('property-edit').click();
  await second.getByTestId('property-editor').locator('input[name=value]').fill('Enterprise');
  await second.getByTestId('property-editor').getByTestId('editor-save').click();
  await expect(plan2.locator('.property__value')).toHaveText('Enterprise');
  await other.close();

  await page.getByTestId('property-editor').getByTestId('editor-save').click();
  const conflict = page.getByTestId('conflict');
  await expect(conflict.getByTestId('conflict-current')).toContainText('Enterprise');
  await expect(conflict.getByTestId('conflict-mine')).toContainText('Pro');
  await conflict.getByTestId('conflict-keep-mine').click();
  await expect(row(page, 'Plan').locator('.property__value')).toHaveText('Pro');
  const card = await (await page.request.get(`/api/v1/leads/${id}`)).json();
  expect(card.properties.find((p: { name: string }) => p.name === 'Plan').value.value).toBe('Pro');
});

test('a number is increased and a list gains and loses an item, each checked before it is sent', async ({ page }) => {
  const id = await leadFor(page.request, 140);
  await patch(page.request, id, [
    { op: 'set', name: 'Orders', value: { type: 'number', value: 2 } },
    { op: 'set', name: 'Interests', value: { type: 'list', value: ['shoes', 'hats'] } },
  ]);
  await page.goto(`/leads/${id}`);

  const orders = row(page, 'Orders');
  await orders.getByTestId('property-menu').click();
  await expect(orders.getByTestId('property-add-item')).toHaveCount(0);
  await orders.getByTestId('property-increase').click();
  const increase = orders.getByTestId('operation-editor');
  await increase.getByTestId('operation-save').click();
  await expect(increase.getByTestId('operation-error')).toContainText('enter a number');
  await increase.getByTestId('operation-input').fill('3.5');
  await increase.getByTestId('operation-save').click();
  await expect(orders.getByTestId('operation-editor')).toHaveCount(0);
  await expect(orders.locator('.property__value')).toHaveText('5.5');

  const interests = row(page, 'Interests');
  await interests.getByTestId('property-menu').click();
  await expect(interests.getByTestId('property-increase')).toHaveCount(0);
  await interests.getByTestId('property-add-item').click();
  const add = interests.getByTestId('operation-editor');
  await add.getByTestId('operation-save').click();
  await expect(add.getByTestId('operation-error')).toContainText('enter an item');
  await add.getByTestId('operation-input').fill('scarves');
  await add.getByTestId('operation-save').click();
  await expect(interests.locator('.property__item')).toHaveText(['shoes', 'hats', 'scarves']);

  await interests.getByTestId('property-menu').click();
  await interests.getByTestId('property-remove-item').click();
  const remove = interests.getByTestId('operation-editor');
  await remove.getByTestId('operation-input').selectOption('shoes');
  await remove.getByTestId('operation-save').click();
  await expect(interests.locator('.property__item')).toHaveText(['hats', 'scarves']);

  const card = await (await page.request.get(`/api/v1/leads/${id}`)).json();
  const props = Object.fromEntries(card.properties.map((p: { name: string; value: unknown }) => [p.name, p.value]));
  expect(props['Orders']).toEqual({ type: 'number', value: 5.5 });
  expect(props['Interests']).toEqual({ type: 'list', value: ['hats', 'scarves'] });
});
