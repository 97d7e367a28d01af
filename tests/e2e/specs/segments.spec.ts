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
