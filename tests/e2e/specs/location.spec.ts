// Location and local time for every visitor (issue 19): a visitor of the demo shop whose browser
// is in Tokyo and speaks Japanese shows "Japan" (the tz database's country of its zone) and the
// time in Tokyo on its card, beside Visitors, with no property set by anyone.
import { test, expect } from '@playwright/test';

test('a demo shop visitor shows a country and a local time on its card', async ({ page, browser, baseURL }) => {
  await page.goto('/visitors');
  await expect(page.getByTestId('live-status')).toHaveAttribute('data-connected', 'true');

  const marker = `tz${Date.now()}`;
  const context = await browser.newContext({ baseURL, storageState: undefined, timezoneId: 'Asia/Tokyo', locale: 'ja-JP' });
  const site = await context.newPage();
  await site.goto(`/demo/?hb=1&m=${marker}`);
  await site.waitForFunction(() => (window as any).leadcard && (window as any).leadcard.visitorId);

  const row = page
    .getByTestId('visitor-row')
    .filter({ has: page.locator(`[data-testid=visitor-page][title$="m=${marker}"]`) });
  await expect(row).toHaveCount(1);
  await row.getByTestId('visitor-open').click();
  const card = page.getByTestId('lead-card');
  await expect(card).toBeVisible();
  await expect(card.getByTestId('location')).toHaveText('Japan');
  const time = card.getByTestId('local-time');
  await expect(time).toHaveAttribute('title', 'Asia/Tokyo');

  // The time shown is Tokyo's (the operator's browser is not in Tokyo): the same formatting of
  // the next few minutes in that zone (the other specs may have moved the server's clock on).
  const shown = await time.textContent();
  const tokyo = await page.evaluate(() => {
    const format = new Intl.DateTimeFormat(undefined, { timeZone: 'Asia/Tokyo', weekday: 'short', hour: '2-digit', minute: '2-digit' });
    return Array.from({ length: 16 }, (_, i) => format.format(new Date(Date.now() + (i - 1) * 60_000)));
  });
  expect(tokyo).toContain(shown);

  // The visitor's language is on the card too.
  await expect(card.locator('[data-testid=property-row][data-name="$language"]')).toContainText('ja-JP');
  await context.close();
});
