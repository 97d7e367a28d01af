// Merging two cards of one person (issue 21): "Merge with…" on the card finds the other card,
// the preview offers a choice for each property they hold differently, and the merged card's old
// link opens the kept card.
import { test, expect, type APIRequestContext } from '@playwright/test';

async function newLead(request: APIRequestContext, name: string, email: string, plan: string, tag: string) {
  const text = (value: string) => ({ type: 'text', value });
  const res = await request.post('/api/v1/leads', {
    data: {
      properties: [
        { name: '$name', value: text(name) },
        { name: '$email', value: text(email) },
        { name: 'plan', value: text(plan) },
      ],
      tags: [tag],
    },
  });
  expect(res.status(), await res.text()).toBe(201);
  return (await res.json()).id as number;
}

test('merging two cards from the card menu keeps the chosen values, and the old link opens the kept card', async ({ page }) => {
  const marker = `m${Date.now()}${Math.floor(Math.random() * 1e4)}`;
  const kept = await newLead(page.request, `Keep ${marker}`, `${marker}.keep@example.com`, 'Free', 'kept-side');
  const other = await newLead(page.request, `Other ${marker}`, `${marker}.other@example.com`, 'Pro', 'other-side');

  await page.goto(`/leads/${kept}`);
  await page.getByTestId('card-menu').click();
  await page.getByTestId('menu-merge').click();
  const dialog = page.getByTestId('merge-dialog');
  await dialog.getByTestId('merge-search').fill(`Other ${marker}`);
  await dialog.getByTestId('merge-candidate').click();
  await expect(dialog.getByTestId('merge-preview')).toBeVisible();
  await expect(dialog.getByTestId('merge-difference')).toHaveCount(3); // name, email, plan
  const plan = dialog.locator('[data-testid=merge-difference][data-name="plan"]');
  await expect(plan.getByTestId('merge-keep')).toBeChecked();
  await plan.getByTestId('merge-take').check();
  await dialog.getByTestId('merge-submit').click();
  await expect(dialog).toHaveCount(0);

  const card = page.getByTestId('lead-card');
  await expect(card.locator('[data-testid=property-row][data-name="plan"] .property__value')).toHaveText('Pro');
  await expect(card.locator('[data-testid=property-row][data-name="$name"] .property__value')).toHaveText(`Keep ${marker}`);
  await expect(card.getByTestId('tag')).toHaveText([/kept-side/, /other-side/]);

  // The merged card's link opens the kept card, saying so.
  await page.goto(`/leads/${other}`);
  await expect(page.getByTestId('lead-merged-notice')).toContainText(`Lead #${other} was merged into this card`);
  await expect(page.locator('[data-testid=property-row][data-name="$name"] .property__value')).toHaveText(`Keep ${marker}`);
});

test('two rows ticked in the Leads Database merge from the selection bar; a shift-click ticks a range', async ({ page }) => {
  const marker = `r${Date.now()}${Math.floor(Math.random() * 1e4)}`;
  const tag = `${marker}-pair`;
  const first = await newLead(page.request, `First ${marker}`, `${marker}.first@example.com`, 'Free', tag);
  await newLead(page.request, `Second ${marker}`, `${marker}.second@example.com`, 'Pro', tag);
  await newLead(page.request, `Third ${marker}`, `${marker}.third@example.com`, 'Pro', tag);
  await page.goto(`/leads?filter=${encodeURIComponent(JSON.stringify({ all: [{ kind: 'tag', tag }] }))}`);
  const rows = page.getByTestId('lead-row');
  await expect(rows).toHaveCount(3);
  await rows.nth(0).getByTestId('select-row').check();
  await rows.nth(2).getByTestId('select-row').click({ modifiers: ['Shift'] });
  await expect(page.getByTestId('selection-count')).toHaveText('3 selected leads');
  await expect(page.getByTestId('merge-selected')).toHaveCount(0);
  await expect(page.getByTestId('export-selected')).toHaveAttribute('href', /\/api\/v1\/leads\/export\?ids=\d+,\d+,\d+$/);
  await rows.nth(0).getByTestId('select-row').uncheck();
  await expect(page.getByTestId('selection-count')).toHaveText('2 selected leads');
  await page.getByTestId('merge-selected').click();
  const dialog = page.getByTestId('merge-dialog');
  await expect(dialog.getByTestId('merge-preview')).toBeVisible();
  await dialog.getByTestId('merge-submit').click();
  await expect(dialog).toHaveCount(0);
  await expect(rows).toHaveCount(2);
  expect(first).toBeGreaterThan(0);
});
