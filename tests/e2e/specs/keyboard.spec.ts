// The keyboard alone (issue 22): an operator builds a filter, edits a property and sends a message
// without the mouse; menus move with the arrow keys, the remove dialog keeps the focus inside and
// gives it back; every page has a title of its own.
import { test, expect, type Locator, type Page } from '@playwright/test';
import { seededLead } from '../seeded';

/** Presses Tab (Shift+Tab with `back`) until `target` has the focus. */
async function tabTo(page: Page, target: Locator, back = false) {
  for (let i = 0; i < 80; i++) {
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`Tab never reached ${target}`);
}

async function focused(page: Page) {
  return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName);
}

test('a filter is built with the keyboard alone', async ({ page }) => {
  await page.goto('/leads');
  await expect(page.getByTestId('lead-row').first()).toBeVisible();
  await tabTo(page, page.getByTestId('filter-add'));
  await page.keyboard.press('Enter');
  const condition = page.getByTestId('filter-condition');
  await expect(condition).toHaveCount(1);

  // Back into the new condition: the property, the comparison, the value.
  await tabTo(page, condition.locator('input[name=property]'), true);
  await page.keyboard.type('$email');
  await page.keyboard.press('Tab');
  await expect(condition.locator('select[name=op]')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(condition.locator('input[name=value]')).toBeFocused();
  // A select moves with the arrow keys: back to the comparison, "is" -> "is not" -> "contains".
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect(condition.locator('select[name=op]')).toHaveValue('contains');
  await page.keyboard.press('Tab');
  await page.keyboard.type('@');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/filter=/);
  await expect(page.getByTestId('lead-row').first()).toBeVisible();
  const filter = JSON.parse(new URL(page.url()).searchParams.get('filter')!);
  expect(JSON.stringify(filter)).toContain('contains');
});

test('a property is edited with the keyboard alone, through the arrow keys of its menu', async ({ page }) => {
  const id = await seededLead(page.request, 12);
  await page.goto(`/leads/${id}`);
  const row = page.locator('[data-testid=property-row][data-name="$phone"]').or(page.locator('[data-testid=property-row][data-name="$name"]')).first();
  await expect(row).toBeVisible();
  const name = (await row.getAttribute('data-name'))!;

  await tabTo(page, row.getByTestId('property-menu'));
  await page.keyboard.press('Enter');
  // The menu opens on its first item; the arrows move and wrap; Escape gives the focus back.
  await expect(row.getByTestId('property-edit')).toBeFocused();
  await page.keyboard.press('ArrowUp');
  await expect(row.getByTestId('property-delete')).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await expect(row.getByTestId('property-edit')).toBeFocused();
  await page.keyboard.press('End');
  await expect(row.getByTestId('property-delete')).toBeFocused();
  await page.keyboard.press('Home');
  await expect(row.getByTestId('property-edit')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(row.getByTestId('property-copy')).toHaveCount(0);
  await expect(row.getByTestId('property-menu')).toBeFocused();

  await page.keyboard.press('ArrowDown');
  await expect(row.getByTestId('property-edit')).toBeFocused();
  await page.keyboard.press('Enter');
  const editor = page.getByTestId('property-editor');
  await expect(editor.locator('[name=value]')).toBeFocused();
  const value = name === '$phone' ? '+44 20 7946 0000' : `Keyboard ${Date.now()}`;
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type(value);
  await page.keyboard.press('Enter');
  await expect(editor).toHaveCount(0);
  await expect(row.locator('.property__value')).toHaveText(value);
});

test('a message is sent with the keyboard alone', async ({ page }) => {
  await page.goto('/inbox');
  const first = page.getByTestId('conversation-row').first();
  await expect(first).toBeVisible();
  await tabTo(page, first.locator('a').first());
  await page.keyboard.press('Enter');
  const composer = page.getByTestId('composer');
  const body = composer.locator('textarea[name=body]');
  await tabTo(page, body);
  const text = `Sent by keyboard ${Date.now()}`;
  await page.keyboard.type(text);
  await page.keyboard.press('Control+Enter');
  await expect(body).toHaveValue('');
  await expect(page.getByTestId('thread').locator('[data-testid=message][data-author=operator]').last()).toContainText(text);
});

test('the remove dialog is modal: the focus stays inside, Escape closes it and the focus returns', async ({ page }) => {
  const id = await seededLead(page.request, 2);
  await page.goto(`/leads/${id}`);
  await tabTo(page, page.getByTestId('card-menu'));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('copy-link')).toBeFocused();
  await page.keyboard.press('End');
  await expect(page.getByTestId('menu-remove')).toBeFocused();
  await page.keyboard.press('Enter');
  const dialog = page.getByTestId('remove-dialog');
  await expect(dialog).toBeVisible();
  expect(await dialog.evaluate((d) => d.tagName === 'DIALOG' && (d as HTMLDialogElement).open && d.matches(':modal'))).toBe(true);
  await expect(dialog.getByTestId('remove-confirm')).toBeFocused();
  // Tab cycles within the dialog (and the browser's own controls), never onto the page behind it.
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    const inside = await page.evaluate(() => {
      const active = document.activeElement;
      return active === document.body || active === null || !!active.closest('dialog');
    });
    expect(inside, `focus after ${i + 1} Tab(s): ${await focused(page)}`).toBe(true);
  }
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId('card-menu')).toBeFocused();
});

test('each page has a title of its own', async ({ page }) => {
  await page.goto('/leads');
  await expect(page).toHaveTitle('Leads — leadcard');
  const id = await seededLead(page.request, 2);
  const card = await (await page.request.get(`/api/v1/leads/${id}`)).json();
  await page.goto(`/leads/${id}`);
  await expect(page).toHaveTitle(`${card.display_name} — leadcard`);
  await page.goto('/inbox');
  await expect(page).toHaveTitle('Inbox — leadcard');
  await page.goto('/visitors');
  await expect(page).toHaveTitle('Visitors — leadcard');
  await page.goto('/segments');
  await expect(page).toHaveTitle('Segments — leadcard');
  await page.goto('/settings');
  await expect(page).toHaveTitle('Settings — leadcard');
});

test('live regions are in the page before what they announce', async ({ page }) => {
  const id = await seededLead(page.request, 2);
  await page.goto(`/leads/${id}`);
  await expect(page.getByTestId('lead-card')).toBeVisible();
  // The toast's regions wait, empty, for the first toast.
  await expect(page.getByTestId('toast-status')).toHaveAttribute('role', 'status');
  await expect(page.getByTestId('toast-alert')).toHaveAttribute('role', 'alert');
  await expect(page.getByTestId('toast')).toHaveCount(0);
  // The connection's state is said in words, not by colour alone.
  await expect(page.getByTestId('live-status')).toHaveText('Live');
  await page.goto('/inbox');
  await page.getByTestId('conversation-row').first().locator('a').first().click();
  await expect(page.getByRole('log', { name: 'Messages' })).toBeVisible();
});
