// Presence is live wherever a lead's card is open (issue 19): the card's header goes online ->
// sleeping -> offline -> online as the visitor's heartbeats say, without a reload, on the card's
// page, beside the Inbox's thread and beside Visitors. The server's test clock and the page's
// (Playwright's clock) move the two minutes on, so each test takes seconds.
import { test, expect, type Browser, type Locator, type Page } from '@playwright/test';
import { leadOf } from '../visitors';

// The server's clock is shared: these tests move it one after the other.
test.describe.configure({ mode: 'serial' });

/** A visitor of its own (a fresh context: its own localStorage) on a demo-site page. */
async function visitor(browser: Browser, baseURL: string, marker: string): Promise<Page> {
  const context = await browser.newContext({ baseURL, storageState: undefined });
  const site = await context.newPage();
  await open(site, marker);
  return site;
}

/** The demo shop's page with the widget (heartbeat every second) for the visitor `marker`. */
async function open(site: Page, marker: string) {
  await site.goto(`/demo/?hb=1&m=${marker}`);
  await site.waitForFunction(() => (window as any).leadcard && (window as any).leadcard.visitorId);
}


async function advanceServerClock(page: Page, ms: number) {
  const res = await page.request.post('/api/v1/test/clock', { data: { advance_ms: ms } });
  expect(res.status(), await res.text()).toBe(200);
}

/** The header `badge` follows the visitor on `site` through every presence, without a reload;
 * `online` (when given) is shown exactly while the lead is online. */
async function followsTheHeartbeats(page: Page, site: Page, marker: string, badge: Locator, online?: Locator) {
  await expect(page.getByTestId('live-status')).toHaveAttribute('data-connected', 'true');
  await expect(badge).toHaveText('online');
  if (online) await expect(online).toHaveCount(1);
  // Messages just after the stream opens may be replays; let that moment pass.
  await page.waitForTimeout(1_600);

  // Two minutes without activity; the widget keeps beating (inactive): sleeping.
  await advanceServerClock(page, 130_000);
  await expect(badge).toHaveText('sleeping');
  if (online) await expect(online).toHaveCount(0);

  // The visitor leaves the site; two more minutes pass on both clocks: offline.
  await site.goto('about:blank');
  await advanceServerClock(page, 130_000);
  await page.clock.fastForward(130_000);
  await expect(badge).toHaveText('offline');

  // The visitor comes back: online again.
  await open(site, marker);
  await expect(badge).toHaveText('online');
  if (online) await expect(online).toHaveCount(1);
}

test.beforeEach(async ({ page }) => {
  await page.clock.install();
});

test("the card's page follows the visitor's presence", async ({ page, browser, baseURL }) => {
  const marker = `pl${Date.now()}`;
  const site = await visitor(browser, baseURL!, marker);
  const id = await leadOf(page.request, marker);
  // A segment of the leads online now: the card's segments take the lead in and out.
  const segment = await page.request.post('/api/v1/segments', {
    data: { name: `Online ${marker}`, filter: { all: [{ kind: 'presence', presence: 'online' }] } },
  });
  expect(segment.status(), await segment.text()).toBe(201);
  const segmentId = (await segment.json()).id;
  await page.goto(`/leads/${id}`);
  const card = page.getByTestId('lead-card');
  const inSegment = card.locator(`[data-testid=lead-segment][data-id="${segmentId}"]`);
  await followsTheHeartbeats(page, site, marker, card.getByTestId('lead-presence'), inSegment);
  const deleted = await page.request.delete(`/api/v1/segments/${segmentId}`, {
    headers: { 'X-Requested-With': 'leadcard' },
  });
  expect(deleted.status()).toBe(204);
  // The Leads Database's row of the lead follows too.
  await page.goto('/leads');
  const row = page.locator(`[data-testid=lead-row][data-lead-id="${id}"]`);
  await expect(row.locator('.presence')).toHaveText('online');
  await site.goto('about:blank');
  await advanceServerClock(page, 130_000);
  await page.clock.fastForward(130_000);
  await expect(row.locator('.presence')).toHaveText('offline');
  await open(site, marker);
  await expect(row.locator('.presence')).toHaveText('online');
  await site.context().close();
});

test("the card beside the Inbox's thread follows the visitor's presence", async ({ page, browser, baseURL }) => {
  const marker = `pi${Date.now()}`;
  const site = await visitor(browser, baseURL!, marker);
  const id = await leadOf(page.request, marker);
  await site.evaluate((text) => (window as any).leadcard.sendMessage(text), `Hello ${marker}`);
  let conversation: number | undefined;
  await expect
    .poll(async () => {
      const list = await (await page.request.get(`/api/v1/conversations?status=all&lead_id=${id}`)).json();
      conversation = list.items[0]?.id;
      return conversation !== undefined;
    })
    .toBe(true);
  await page.goto(`/inbox/${conversation}?status=all`);
  await followsTheHeartbeats(page, site, marker, page.getByTestId('inbox-card').getByTestId('lead-presence'));
  // The list's row shows the lead online.
  await expect(page.locator(`[data-testid=conversation-row][data-id="${conversation}"] [data-presence]`)).toHaveAttribute(
    'data-presence',
    'online',
  );
  await site.context().close();
});

test("the card beside Visitors follows the visitor's presence", async ({ page, browser, baseURL }) => {
  const marker = `pv${Date.now()}`;
  const site = await visitor(browser, baseURL!, marker);
  const id = await leadOf(page.request, marker);
  await page.goto(`/visitors?lead=${id}`);
  await followsTheHeartbeats(page, site, marker, page.locator('.visitors__card').getByTestId('lead-presence'));
  await site.context().close();
});
