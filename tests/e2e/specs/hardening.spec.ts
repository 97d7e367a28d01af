// What an attacker tries against the console in a browser: a sign-in link that sends the operator
// to another site afterwards.
import { test, expect, type Page } from '@playwright/test';
import { DEMO } from '../global-setup';

/** Submits the sign-in form; sign-in is rate limited per email, so a 429 waits its Retry-After. */
async function submitSignIn(page: Page) {
  await page.fill('input[name=email]', DEMO.email);
  await page.fill('input[name=password]', DEMO.password);
  for (;;) {
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/session') && r.request().method() === 'POST');
    await page.click('button[type=submit]');
    const res = await answer;
    if (res.status() !== 429) {
      expect(res.status()).toBe(200);
      return;
    }
    const wait = Number(res.headers()['retry-after'] ?? '5');
    await page.waitForTimeout((wait + 1) * 1000);
    await expect(page.locator('button[type=submit]')).toBeEnabled();
  }
}

test.describe('sign-in with a hostile next', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  // Each one passed the old check (a `/` not followed by `/` or `\`) and left the site: the
  // browser drops tabs and newlines before it parses, and reads `\` as `/`. (Sign-in is limited
  // to five a minute per email, shared with the other specs: the wasm test of the rule holds the
  // long list.)
  const hostile = ['/\t/example.org', '/\r\n/example.org', '/\t\\example.org'];

  test('stays on the site for every next that names another site', async ({ page, baseURL }) => {
    test.setTimeout(240_000);
    const origin = new URL(baseURL!).origin;
    const elsewhere: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).origin !== origin) elsewhere.push(r.url());
    });
    for (const next of hostile) {
      await page.context().clearCookies();
      await page.goto(`/login?next=${encodeURIComponent(next)}`);
      await submitSignIn(page);
      await expect(page.getByTestId('me')).toBeVisible();
      expect(new URL(page.url()).origin, next).toBe(origin);
      expect(new URL(page.url()).pathname, next).toBe('/leads');
    }
    expect(elsewhere).toEqual([]);
  });
});

/** Records every Content-Security-Policy violation on the page (the event and the console's report), from the start. */
async function watchPolicy(page: Page): Promise<string[]> {
  const problems: string[] = [];
  await page.exposeFunction('reportViolation', (v: string) => problems.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as any).reportViolation(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

test('the console runs under its Content-Security-Policy with no violation on its pages', async ({ page }) => {
  const problems = await watchPolicy(page);
  const first = await page.goto('/leads');
  const policy = first!.headers()['content-security-policy'] ?? '';
  expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(policy).toContain("frame-ancestors 'none'");
  await expect(page.getByTestId('lead-row').first()).toBeVisible();
  await page.locator('.lead-row__name').first().click();
  await expect(page).toHaveURL(/\/leads\/\d+/);
  await expect(page.getByTestId('me')).toBeVisible();
  for (const path of ['/visitors', '/inbox', '/segments', '/settings']) {
    await page.goto(path);
    await expect(page.getByTestId('me')).toBeVisible();
    await page.waitForLoadState('networkidle');
  }
  expect(problems).toEqual([]);
  // And the policy is in force, not merely sent: an inline script is refused and reported.
  const ran = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.body.appendChild(s);
    return (window as any).__inlineRan === true;
  });
  expect(ran).toBe(false);
  await expect.poll(() => problems.some((p) => p.startsWith('script-src'))).toBe(true);
});

test('the demo shop and its widget run under their own policy with no violation', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ baseURL, storageState: undefined });
  const site = await context.newPage();
  const problems = await watchPolicy(site);
  const answer = await site.goto('/demo/?hb=1');
  expect(answer!.headers()['content-security-policy']).toContain("script-src 'self'");
  await site.waitForFunction(() => (window as any).leadcard && (window as any).leadcard.visitorId);
  await site.goto('/demo/product.html?id=1&hb=1');
  await site.waitForFunction(() => (window as any).leadcard && (window as any).leadcard.visitorId);
  await site.waitForLoadState('networkidle');
  expect(problems).toEqual([]);
  await context.close();
});
