// Live updates (Server-Sent Events): what changes elsewhere shows on an open card without reload.
import { test, expect } from '@playwright/test';
import { seededLead } from '../seeded';

test('a tag and a note added elsewhere appear on an open card, and a second tab follows', async ({ page, context }) => {
  const id = await seededLead(page.request, 50);
  await page.goto(`/leads/${id}`);
  await expect(page.getByTestId('lead-card')).toBeVisible();
  await expect(page.getByTestId('live-status')).toHaveAttribute('data-connected', 'true');

  const tag = `live-${Date.now()}`;
  const res = await page.request.post(`/api/v1/leads/${id}/tags`, { data: { tag } });
  expect(res.status()).toBe(200);
  await expect(page.getByTestId('tag').filter({ hasText: tag })).toBeVisible();

  const note = await page.request.post(`/api/v1/leads/${id}/notes`, { data: { body: `seen live ${tag}` } });
  expect(note.status()).toBe(201);
  await expect(page.getByTestId('note').filter({ hasText: `seen live ${tag}` })).toBeVisible();

  // A second tab on the same card: removing the tag in the first shows in the second.
  const other = await context.newPage();
  await other.goto(`/leads/${id}`);
  await expect(other.getByTestId('tag').filter({ hasText: tag })).toBeVisible();
  await expect(other.getByTestId('live-status')).toHaveAttribute('data-connected', 'true');
  await page.getByTestId('tag').filter({ hasText: tag }).getByTestId('tag-remove').click();
  await expect(other.getByTestId('tag').filter({ hasText: tag })).toHaveCount(0);
});
