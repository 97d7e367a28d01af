// What a browser downloads on the first visit, as the server sends it: the sign-in page carries
// neither the console's frame, nor any page, nor their stylesheets; once signed in, they load and
// apply. On the release build (split into chunks, compressed at build time) the bytes over the
// wire stay within the first-load budget and every wasm module goes out brotli-compressed.
import { test, expect, type Page } from '@playwright/test';
import { DEMO } from '../global-setup';

/** The goal for a first load of the sign-in page (wasm + JS + CSS as sent), in bytes. */
const GOAL = 150_000;
/** Its bound: the goal, met since session 17 (143.8 KB with both languages: the glue's import names
 * shortened and the sign-in page's modules in one pack). */
const BUDGET = GOAL;
/** The goal for a signed-in operator's first visit of any page of the console (wasm + JS +
 * CSS as sent, the frame and the page), in bytes. */
const PAGE_GOAL = 250_000;
/** Each page's bound: the goal where a page meets it, else its size at the last measure (BENCHMARKS.md,
 * issue 15) plus 10 KB, so a page that grows by 20 KB fails here until it meets the goal. Measured
 * in session 17 (imports shortened, each page's modules in one pack, English and Russian: the
 * catalogue added ~7-10 KB a page): /leads 435.7 KB, /leads/:id 502.8, /inbox 541.9, /visitors
 * 515.3, /segments 353.2, /settings 361.6. */
const PAGE_BUDGET: Record<string, number> = {
  '/leads': 446_000,
  '/leads/:id': 513_000,
  '/inbox': 552_000,
  '/visitors': 526_000,
  '/segments': 364_000,
  '/settings': 372_000,
};

type Fetched = { url: string; bytes: number; encoding: string | undefined };

/** What the page fetched; `settled()` waits for the entries still being read (each is added
 * after its sizes and headers are read, which on a loaded machine can trail `networkidle`). */
type Recorded = Fetched[] & { settled(): Promise<void> };

function record(page: Page): Recorded {
  const fetched = [] as unknown as Recorded;
  const pending: Promise<void>[] = [];
  page.on('requestfinished', (request) => {
    pending.push(
      (async () => {
        const response = await request.response();
        if (!response) return;
        const sizes = await request.sizes();
        fetched.push({ url: request.url(), bytes: sizes.responseBodySize, encoding: (await response.allHeaders())['content-encoding'] });
      })(),
    );
  });
  fetched.settled = async () => {
    let seen = -1;
    while (seen !== pending.length) {
      seen = pending.length;
      await Promise.all(pending);
    }
  };
  return fetched;
}

// A pack (xtask/src/split.rs) is a page's wasm modules in one file.
const isCode = (f: Fetched) => /\.(wasm|pack|js|css)$/.test(new URL(f.url).pathname);
const isWasm = (f: Fetched) => /\.(wasm|pack)$/.test(new URL(f.url).pathname);

test.describe('a first visit', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  for (const start of ['/', '/leads?q=a', '/login']) {
    test(`to ${start} loads only the sign-in page, within the budget`, async ({ page }) => {
      const fetched = record(page);
      await page.goto(start);
      await expect(page.locator('input[name=email]')).toBeVisible();
      await page.waitForLoadState('networkidle');
      await fetched.settled();
      const code = fetched.filter(isCode);
      const names = code.map((f) => new URL(f.url).pathname);
      // No page behind the sign-in, no frame, none of the console's stylesheets.
      for (const name of names) {
        expect(name, 'fetched on the sign-in page').not.toMatch(/(split|pack)_(shell|leads|lead|inbox|visitors|segments|settings)_page|\/(shell|leads|card|inbox|visitors|settings)-[0-9a-f]+\.css$/);
      }
      const split = names.some((n) => n.endsWith('_split.js'));
      if (split) {
        // The release build: every wasm compressed, the whole load within the budget.
        for (const f of code.filter(isWasm)) expect(f.encoding, f.url).toBe('br');
        // The main module and the sign-in page's pack.
        expect(code.filter(isWasm).length, 'wasm files').toBeLessThanOrEqual(2);
        const total = code.reduce((sum, f) => sum + f.bytes, 0);
        console.log(`first load of ${start}: ${code.length} files, ${(total / 1000).toFixed(1)} KB over the wire (goal ${GOAL / 1000} KB)`);
        expect(total).toBeLessThanOrEqual(BUDGET);
      }
    });
  }

  test('turning to the form fetches the frame and the next page ahead, then signing in shows it', async ({ page }) => {
    const fetched = record(page);
    await page.goto('/login?next=%2Finbox');
    await expect(page.locator('input[name=email]')).toBeVisible();
    await page.waitForLoadState('networkidle');
    await fetched.settled();
    const modules = () => fetched.map((f) => new URL(f.url).pathname).filter((n) => /(split|pack)_\w+_page/.test(n));
    const split = fetched.some((f) => f.url.endsWith('_split.js'));
    // Before: the sign-in page's own module only (none at all in an unsplit build).
    expect(modules().filter((n) => !n.includes('_login_page'))).toEqual([]);
    expect(modules().length).toBe(split ? 1 : 0);
    await page.focus('input[name=email]');
    if (split) {
      await expect.poll(modules).toEqual(expect.arrayContaining([expect.stringMatching(/(split|pack)_shell_page/), expect.stringMatching(/(split|pack)_inbox_page/)]));
    }
    await page.fill('input[name=email]', DEMO.email);
    await page.fill('input[name=password]', DEMO.password);
    await page.click('button[type=submit]');
    await expect(page).toHaveURL(/\/inbox$/);
    await expect(page.getByTestId('me')).toBeVisible();
  });

  test('signing in brings the console and its styles', async ({ page }) => {
    await page.goto('/login');
    await page.fill('input[name=email]', DEMO.email);
    await page.fill('input[name=password]', DEMO.password);
    await page.click('button[type=submit]');
    await expect(page).toHaveURL(/\/leads$/);
    await expect(page.getByTestId('me')).toBeVisible();
    // leads.css lays the page out as a column of search, filters and the table.
    await expect(page.locator('.leads').first()).toHaveCSS('display', 'flex');
    // inbox.css sizes the navigation's unread badge.
    await expect(page.getByTestId('inbox-unread')).toHaveCSS('min-width', '18px');
  });
});

test.describe('a signed-in first visit (empty cache)', () => {
  // Each page as an operator with a session meets it after a deploy: nothing cached, every module
  // fetched, until the page has shown its content and the network is quiet.
  const pages: { name: string; path: (leadId: number) => string; shown: string }[] = [
    { name: '/leads', path: () => '/leads', shown: '[data-testid=lead-row]' },
    { name: '/leads/:id', path: (id) => `/leads/${id}`, shown: '[data-testid=lead-card]' },
    { name: '/inbox', path: () => '/inbox', shown: '[data-testid=conversation-list]' },
    { name: '/visitors', path: () => '/visitors', shown: '[data-testid=visitors-count]' },
    { name: '/segments', path: () => '/segments', shown: '[data-testid=segment-new]' },
    { name: '/settings', path: () => '/settings', shown: '[data-testid=email-settings]' },
  ];
  for (const { name, path, shown } of pages) {
    test(`of ${name} stays within the page budget`, async ({ page }) => {
      const { items } = await (await page.request.get('/api/v1/leads?limit=1')).json();
      const fetched = record(page);
      await page.goto(path(items[0].id));
      await expect(page.locator(shown).first()).toBeVisible();
      await page.waitForLoadState('networkidle');
      await fetched.settled();
      const code = fetched.filter(isCode);
      if (!code.some((f) => f.url.endsWith('_split.js'))) return; // an unsplit debug build: no budget
      for (const f of code.filter(isWasm)) expect(f.encoding, f.url).toBe('br');
      // The main module, the frame's pack and the page's: not a request per module (~100).
      expect(code.filter(isWasm).map((f) => new URL(f.url).pathname).length, `${name}: wasm files`).toBeLessThanOrEqual(4);
      const total = code.reduce((sum, f) => sum + f.bytes, 0);
      console.log(`signed-in first load of ${name}: ${code.length} files, ${(total / 1000).toFixed(1)} KB over the wire (goal ${PAGE_GOAL / 1000} KB)`);
      expect(total, `${name} over the wire`).toBeLessThanOrEqual(Math.max(PAGE_GOAL, PAGE_BUDGET[name]));
    });
  }
});
