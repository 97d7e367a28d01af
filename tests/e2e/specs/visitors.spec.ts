// Tracking and Visitors (issue 4): the demo site's widget makes a visitor that appears in
// Visitors live, turns sleeping when the server's clock moves on, and leaves when its heartbeats
// stop; the card shows its pages and events; events can be grouped and added by hand.
import { test, expect, type Browser, type Page } from '@playwright/test';
import { seededLead } from '../seeded';

test.describe.configure({ mode: 'serial' });

/** A visitor of its own (a fresh browser context: its own localStorage) on a demo-site page. */
async function visitor(browser: Browser, baseURL: string, marker: string): Promise<Page> {
  const context = await browser.newContext({ baseURL, storageState: undefined });
  const site = await context.newPage();
  await site.goto(`/demo/?hb=1&m=${marker}`);
  await site.waitForFunction(() => (window as any).leadcard && (window as any).leadcard.visitorId);
  return site;
}

function row(page: Page, marker: string) {
  return page.getByTestId('visitor-row').filter({ has: page.locator(`[data-testid=visitor-page][title$="m=${marker}"]`) });
}

async function advanceClock(page: Page, ms: number) {
  const res = await page.request.post('/api/v1/test/clock', { data: { advance_ms: ms } });
  expect(res.status(), await res.text()).toBe(200);
}

test('a visitor appears online, turns sleeping, then leaves when the heartbeats stop', async ({ page, browser, baseURL }) => {
  await page.goto('/visitors');
  await expect(page.getByTestId('live-status')).toHaveAttribute('data-connected', 'true');
  const marker = `v${Date.now()}`;
  const site = await visitor(browser, baseURL!, marker);

  const mine = row(page, marker);
  await expect(mine).toHaveCount(1);
  await expect(mine).toHaveAttribute('data-presence', 'online');
  await expect(mine.getByTestId('visitor-pages')).toHaveText('1');

  // Two minutes without activity (the widget keeps beating, inactive): sleeping, without reload.
  await page.waitForTimeout(1500);
  await advanceClock(page, 130_000);
  await expect(mine).toHaveAttribute('data-presence', 'sleeping');

  // The card beside the list shows the pages of this visit.
  await mine.getByTestId('visitor-open').click();
  await expect(page).toHaveURL(/\/visitors\?lead=\d+/);
  await expect(page.getByTestId('lead-card')).toBeVisible();
  await expect(page.getByTestId('session-page')).toHaveCount(1);

  // The visitor closes the site; two more minutes pass. Another visitor's heartbeat tells the
  // page the server's time, and the first one is gone.
  await site.context().close();
  await advanceClock(page, 130_000);
  const other = await visitor(browser, baseURL!, `${marker}b`);
  await expect(row(page, `${marker}b`)).toHaveCount(1);
  await expect(mine).toHaveCount(0);
  await other.context().close();
});

test('the card lists events newest first, groups them, and takes an event added by hand', async ({ page }) => {
  const id = await seededLead(page.request, 20);
  await page.goto(`/leads/${id}`);
  await expect(page.getByTestId('lead-card')).toBeVisible();

  const name = `Called sales ${Date.now()}`;
  await page.getByTestId('event-add').click();
  const form = page.getByTestId('event-add-form');
  await form.locator('input[name=event-name]').fill('$page_view');
  await form.getByTestId('event-add-save').click();
  await expect(form.getByTestId('event-add-error')).toContainText('name');

  await form.locator('input[name=event-name]').fill(name);
  await form.getByTestId('event-add-property-row').click();
  await form.locator('input[name=property-name]').fill('duration');
  await form.locator('select[name=property-type]').selectOption('number');
  await form.locator('[data-testid=event-add-property] [name=value]').fill('12');
  await form.getByTestId('event-add-save').click();
  await expect(form).toHaveCount(0);

  const added = page.getByTestId('event').first();
  await expect(added).toHaveAttribute('data-name', name);
  await expect(added).toHaveAttribute('data-source', 'manual');
  await added.getByTestId('event-properties').locator('summary').click();
  await expect(added.getByTestId('event-properties')).toContainText('12');

  await page.getByTestId('groups-tab').click();
  const group = page.locator(`[data-testid=event-group][data-name="${name}"]`);
  await expect(group.getByTestId('event-group-count')).toHaveText('1');
  await group.getByRole('button').click();
  await expect(page.getByTestId('event')).toHaveCount(1);
  await page.getByTestId('events-all').click();
  await expect(page.getByTestId('event').first()).toHaveAttribute('data-name', name);
});
