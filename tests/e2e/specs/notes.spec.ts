// Notes edited by their author (issue 19): the card's editor, "edited" with when, and the edit
// reaching another open page of the same card without a reload.
import { test, expect } from '@playwright/test';
import { seededLead } from '../seeded';

test('the author edits a note; it says "edited", and another open card follows', async ({ page, context }) => {
  const id = await seededLead(page.request, 141);
  const other = await context.newPage();
  await Promise.all([page.goto(`/leads/${id}`), other.goto(`/leads/${id}`)]);
  const written = `Called about the renewal ${Date.now()}`;
  await page.getByTestId('note-input').fill(written);
  await page.getByTestId('note-add').click();
  const note = page.getByTestId('note').filter({ hasText: written });
  await expect(note).toHaveCount(1);
  await expect(note.getByTestId('note-edited')).toHaveCount(0);
  await expect(other.getByTestId('note').filter({ hasText: written })).toHaveCount(1);

  await note.getByTestId('note-edit').click();
  const editor = page.getByTestId('note-editor');
  await editor.getByTestId('note-edit-input').fill('  ');
  await editor.getByTestId('note-save').click();
  await expect(editor.getByTestId('note-edit-error')).toContainText('empty');
  const edited = `${written} - wants <b>Pro</b>`;
  await editor.getByTestId('note-edit-input').fill(edited);
  await editor.getByTestId('note-save').click();

  const shown = page.getByTestId('note').filter({ hasText: edited });
  await expect(shown.locator('.note__body')).toHaveText(edited);
  await expect(shown.getByTestId('note-edited')).toContainText('edited');
  const followed = other.getByTestId('note').filter({ hasText: edited });
  await expect(followed.locator('.note__body')).toHaveText(edited);
  await expect(followed.getByTestId('note-edited')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('note').filter({ hasText: edited }).getByTestId('note-edited')).toBeVisible();
});
