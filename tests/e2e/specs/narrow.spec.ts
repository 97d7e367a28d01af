// A phone-sized screen (issue 22): at 390 px wide the Leads Database, the card and the Inbox show
// one column at a time and nothing is cut off or pushes the page sideways.
import { test, expect, type Page } from '@playwright/test';
import { seededLead } from '../seeded';

test.use({ viewport: { width: 390, height: 844 } });

/** What sticks out: elements past the screen's edges, and boxes whose content is wider than they
 *  are (clipped or scrolling sideways). Text trimmed with an ellipsis on purpose, and the
 *  navigation's strip of links (it scrolls sideways by design), are not counted. */
async function cutOff(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const name = (el: Element) =>
      `${el.tagName.toLowerCase()}${el.getAttribute('data-testid') ? `[data-testid=${el.getAttribute('data-testid')}]` : ''}${
        el.classList.length ? '.' + [...el.classList].join('.') : ''
      }`;
    const found: string[] = [];
    if (document.documentElement.scrollWidth > width + 1) found.push(`the page is ${document.documentElement.scrollWidth}px wide`);
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('.app-nav__links, .visually-hidden, [hidden]')) continue;
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.visibility === 'hidden' || style.textOverflow === 'ellipsis') continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      if (box.right > width + 1 || box.left < -1) found.push(`${name(el)} spans ${Math.round(box.left)}..${Math.round(box.right)}px`);
      else if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && style.overflowX !== 'visible')
        found.push(`${name(el)} holds ${el.scrollWidth}px in ${el.clientWidth}px`);
    }
    return found;
  });
}

test('the Leads Database fits 390 px', async ({ page }) => {
  await page.goto('/leads');
  await expect(page.getByTestId('lead-row').first()).toBeVisible();
  await expect(page.getByTestId('leads-total')).not.toBeEmpty();
  expect(await cutOff(page)).toEqual([]);
  await page.getByTestId('filter-add').click();
  await expect(page.getByTestId('filter-condition')).toHaveCount(1);
  expect(await cutOff(page)).toEqual([]);
  // The name, the way to the card, is on screen in every row.
  await expect(page.getByTestId('lead-row').first().locator('.lead-row__name')).toBeInViewport();
});

test('the card fits 390 px', async ({ page }) => {
  const id = await seededLead(page.request, 2);
  await page.goto(`/leads/${id}`);
  await expect(page.getByTestId('property-row').first()).toBeVisible();
  expect(await cutOff(page)).toEqual([]);
  await page.getByTestId('card-menu').click();
  await expect(page.getByTestId('copy-link')).toBeInViewport();
  expect(await cutOff(page)).toEqual([]);
});

test('the Inbox fits 390 px, the list or the thread', async ({ page }) => {
  await page.goto('/inbox');
  const row = page.getByTestId('conversation-row').first();
  await expect(row).toBeVisible();
  expect(await cutOff(page)).toEqual([]);
  await row.locator('a').first().click();
  await expect(page.getByTestId('thread')).toBeVisible();
  // One column at a time: the thread replaces the list.
  await expect(page.getByTestId('conversation-list')).toBeHidden();
  await expect(page.getByTestId('composer').locator('textarea[name=body]')).toBeInViewport();
  expect(await cutOff(page)).toEqual([]);
});
