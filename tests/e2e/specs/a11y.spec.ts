// Accessibility (issue 22): axe-core (WCAG 2.1 A/AA and best practices) finds no serious or
// critical violation on any page, on the open card with its menus and dialog, on the filter
// builder and on the composer, in the light theme and in the dark one, in English and in Russian
// (a Russian browser: the console follows `navigator.languages`).
import { test, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { seededLead } from '../seeded';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/** Runs axe on the page as it is now; fails naming each serious or critical rule and its nodes. */
async function expectAccessible(page: Page, what: string) {
  // Transitions end before colours are measured (a half-faded element reads as low contrast).
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => undefined))));
  const { violations } = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  const bad = violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => {
      const nodes = v.nodes.slice(0, 6).map((n) => `    ${n.target.join(' ')}: ${n.failureSummary?.replace(/\s+/g, ' ')}`);
      return `${v.id} (${v.impact}, ${v.nodes.length} nodes): ${v.help}\n${nodes.join('\n')}`;
    });
  expect(bad, `axe on ${what}`).toEqual([]);
}

const LANGUAGES = {
  en: { locale: 'en-US', signIn: 'Sign in', operators: 'Operators' },
  ru: { locale: 'ru-RU', signIn: 'Войти', operators: 'Операторы' },
} as const;

for (const [language, words] of Object.entries(LANGUAGES)) for (const scheme of ['light', 'dark'] as const) {
  test.describe(`${scheme} theme, ${language}`, () => {
    test.use({ colorScheme: scheme, locale: words.locale });

    test('the sign-in page', async ({ browser, baseURL }) => {
      const context = await browser.newContext({
        baseURL,
        colorScheme: scheme,
        locale: words.locale,
        storageState: { cookies: [], origins: [] },
      });
      const page = await context.newPage();
      await page.goto('/login');
      await expect(page.locator('html')).toHaveAttribute('lang', language);
      await expect(page.getByRole('button', { name: words.signIn })).toBeVisible();
      await expectAccessible(page, 'the sign-in page');
      await context.close();
    });

    test('Leads, with the filter builder, the new lead form and the export panel', async ({ page }) => {
      await page.goto('/leads');
      await expect(page.locator('html')).toHaveAttribute('lang', language);
      await expect(page.getByTestId('lead-row').first()).toBeVisible();
      await expect(page.getByTestId('leads-total')).not.toBeEmpty();
      await expectAccessible(page, 'Leads');

      await page.getByTestId('filter-add').click();
      await expect(page.getByTestId('filter-condition').first()).toBeVisible();
      await expectAccessible(page, 'Leads with a condition in the filter builder');

      await page.getByTestId('new-lead').click();
      await expect(page.getByTestId('new-lead-form')).toBeVisible();
      await page.getByTestId('export-open').click();
      await expect(page.getByTestId('export-panel')).toBeVisible();
      await expectAccessible(page, 'Leads with the new lead form and the export panel open');

      await page.getByTestId('lead-row').first().getByTestId('select-row').check();
      await expect(page.getByTestId('selection-bar')).toBeVisible();
      await expectAccessible(page, 'Leads with a ticked row and the selection bar');
    });

    test('the card, its menus and the remove dialog', async ({ page }) => {
      const id = await seededLead(page.request, 2);
      await page.goto(`/leads/${id}`);
      await expect(page.getByTestId('lead-card')).toBeVisible();
      await expect(page.getByTestId('property-row').first()).toBeVisible();
      await expectAccessible(page, 'the card');

      await page.getByTestId('card-menu').click();
      await expect(page.getByTestId('copy-link')).toBeVisible();
      await expectAccessible(page, 'the card menu');
      await page.keyboard.press('Escape');

      const row = page.getByTestId('property-row').first();
      await row.getByTestId('property-menu').click();
      await expect(row.getByTestId('property-copy')).toBeVisible();
      await expectAccessible(page, 'a property menu');
      await page.keyboard.press('Escape');

      await page.getByTestId('card-menu').click();
      await page.getByTestId('menu-remove').click();
      await expect(page.getByTestId('remove-dialog')).toBeVisible();
      await expectAccessible(page, 'the remove dialog');
      await page.keyboard.press('Escape');
      await expect(page.getByTestId('remove-dialog')).toHaveCount(0);

      // The merge dialog: the search, then both cards side by side (nothing is merged).
      const other = await seededLead(page.request, 3);
      const otherName = (await (await page.request.get(`/api/v1/leads/${other}`)).json()).display_name as string;
      await page.getByTestId('card-menu').click();
      await page.getByTestId('menu-merge').click();
      const merge = page.getByTestId('merge-dialog');
      await expect(merge.getByTestId('merge-search')).toBeVisible();
      await expectAccessible(page, 'the merge dialog');
      await merge.getByTestId('merge-search').fill(otherName);
      await merge.getByTestId('merge-candidate').first().click();
      await expect(merge.getByTestId('merge-preview')).toBeVisible();
      await expectAccessible(page, 'the merge preview');
      await merge.getByTestId('merge-cancel').click();
      await expect(merge).toHaveCount(0);
    });

    test('the Inbox with a conversation and its composer', async ({ page }) => {
      await page.goto('/inbox');
      const row = page.getByTestId('conversation-row').first();
      await expect(row).toBeVisible();
      await expectAccessible(page, 'the Inbox');
      await row.click();
      await expect(page.getByTestId('thread')).toBeVisible();
      await expect(page.getByTestId('composer')).toBeVisible();
      await expect(page.getByTestId('thread').locator('.message').first()).toBeVisible();
      await expectAccessible(page, 'a conversation');
    });

    test('Visitors', async ({ page }) => {
      await page.goto('/visitors');
      await expect(page.getByTestId('visitor-row').first().or(page.getByTestId('visitors-empty'))).toBeVisible();
      await expectAccessible(page, 'Visitors');
    });

    test('Segments and the segment editor', async ({ page }) => {
      await page.goto('/segments');
      await expect(page.getByTestId('segment-new')).toBeVisible();
      await expectAccessible(page, 'Segments');
      await page.getByTestId('segment-new').click();
      await expect(page.getByTestId('segment-editor')).toBeVisible();
      await expectAccessible(page, 'the segment editor');
    });

    test('Settings, Operators and Account', async ({ page }) => {
      await page.goto('/settings');
      await expect(page.getByTestId('email-settings')).toBeVisible();
      await expectAccessible(page, 'Settings');
      await page.goto('/settings/operators');
      await expect(page.getByRole('heading', { name: words.operators })).toBeVisible();
      await expectAccessible(page, 'Operators');
      await page.goto('/account');
      await expect(page.getByRole('heading').first()).toBeVisible();
      await expectAccessible(page, 'Account');
    });

    test('a page that does not exist', async ({ page }) => {
      await page.goto('/nowhere');
      await expect(page.locator('.not-found')).toBeVisible();
      await expectAccessible(page, 'the not-found page');
    });
  });
}

test('the theme follows the system unless the operator chooses one, and the choice is remembered', async ({ page }) => {
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('/leads');
  await expect(page.getByTestId('theme-switch')).toHaveValue('system');
  expect(await background()).toBe('rgb(15, 18, 24)');

  await page.getByTestId('theme-switch').selectOption('light');
  expect(await background()).toBe('rgb(245, 246, 248)');
  await page.reload();
  await expect(page.getByTestId('theme-switch')).toHaveValue('light');
  expect(await background()).toBe('rgb(245, 246, 248)');

  await page.emulateMedia({ colorScheme: 'light' });
  await page.getByTestId('theme-switch').selectOption('dark');
  expect(await background()).toBe('rgb(15, 18, 24)');
  await page.getByTestId('theme-switch').selectOption('system');
  expect(await background()).toBe('rgb(245, 246, 248)');
});
