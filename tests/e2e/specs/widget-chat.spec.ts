// Communications through the site's widget (issue 7): an operator's chat from the card reaches the
// demo site's widget live, the lead answers there and the answer appears in the Inbox without a
// reload; a pop-up shows at once and only once, or on the next page when the lead was away; an
// email from the card lands in the real SMTP listener with the conversation's reply address.
import { test, expect, type Browser, type Page } from '@playwright/test';
import { leadOf } from '../visitors';
import { seededLead } from '../seeded';
import { decoded, waitForMail } from '../maildir';

test.describe.configure({ mode: 'serial' });

/** A visitor of its own (a fresh context: its own localStorage) on a demo-site page. */
async function visitor(browser: Browser, baseURL: string, marker: string): Promise<Page> {
  const context = await browser.newContext({ baseURL, storageState: undefined });
  const site = await context.newPage();
  await site.goto(`/demo/?hb=1&m=${marker}`);
  await site.waitForFunction(() => (window as any).leadcard && (window as any).leadcard.visitorId);
  return site;
}


async function sendFromCard(page: Page, channel: 'chat' | 'email' | 'popup', body: string, subject?: string) {
  const comms = page.getByTestId('card-communications');
  await comms.getByTestId(`channel-${channel}`).click();
  if (subject !== undefined) await comms.locator('input[name=subject]').fill(subject);
  await comms.locator('textarea[name=body]').fill(body);
  await comms.getByTestId('send').click();
  await expect(comms.locator('textarea[name=body]')).toHaveValue('');
}

test('a chat from the card reaches the widget live, and the answer reaches the Inbox live', async ({ page, browser, baseURL }) => {
  const marker = `wc${Date.now()}`;
  const site = await visitor(browser, baseURL!, marker);
  const id = await leadOf(page.request, marker);

  await page.goto(`/leads/${id}`);
  await expect(page.getByTestId('live-status')).toHaveAttribute('data-connected', 'true');
  await sendFromCard(page, 'chat', `Hello from support ${marker}`);
  const history = page.getByTestId('conversation-history').getByTestId('history-row');
  await expect(history.first()).toContainText(`Hello from support ${marker}`);

  // The widget shows an unread badge; opening the chat shows the message and reports it seen.
  await expect(site.locator('#leadcard-launcher .badge')).toHaveText('1');
  await site.locator('#leadcard-launcher').click();
  await expect(site.locator('#leadcard-chat li.operator')).toContainText(`Hello from support ${marker}`);
  await expect(site.locator('#leadcard-launcher .badge')).toHaveText('');

  // The operator waits in the Inbox; the lead answers in the widget.
  await page.goto('/inbox?status=all');
  await expect(page.getByTestId('conversation-list')).toBeVisible();
  await site.locator('#leadcard-chat-input').fill(`Thanks! ${marker}`);
  await site.locator('#leadcard-chat-send').click();
  // Shown once, whether the stream or the send's answer confirms it first.
  await expect(site.locator('#leadcard-chat li.lead', { hasText: `Thanks! ${marker}` })).toHaveCount(1);
  await expect(site.locator('#leadcard-chat li.lead.pending')).toHaveCount(0);

  const row = page.getByTestId('conversation-row').filter({ hasText: `Thanks! ${marker}` });
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute('data-unread', '1');
  await row.click();
  await expect(page).toHaveURL(/\/inbox\/\d+/);
  const thread = page.getByTestId('thread');
  await expect(thread.locator('[data-testid=message][data-author=lead]').last()).toContainText(`Thanks! ${marker}`);
  await expect(thread.locator('[data-testid=message][data-author=operator]').last()).toHaveAttribute('data-delivery', 'delivered');
  await expect(page.getByTestId('inbox-card').getByTestId('lead-card')).toBeVisible();

  // The operator answers from the thread; the widget shows it at once (panel open: no badge).
  await page.getByTestId('composer').locator('textarea[name=body]').fill(`On its way ${marker}`);
  await page.getByTestId('composer').getByTestId('send').click();
  await expect(site.locator('#leadcard-chat li.operator').last()).toContainText(`On its way ${marker}`);
  await site.context().close();
});

test('a pop-up shows in the widget at once, and only once', async ({ page, browser, baseURL }) => {
  const marker = `wp${Date.now()}`;
  const site = await visitor(browser, baseURL!, marker);
  const id = await leadOf(page.request, marker);

  await page.goto(`/leads/${id}`);
  await sendFromCard(page, 'popup', `20% off today only ${marker}`);
  const popup = site.locator('#leadcard-popup');
  await expect(popup).toBeVisible();
  await expect(popup.locator('.leadcard-popup__body')).toHaveText(`20% off today only ${marker}`);
  await popup.locator('.leadcard-popup__close').click();
  await expect(popup).toBeHidden();

  // Shown once: the next page does not show it again.
  await site.goto(`/demo/product.html?id=1&hb=1&m=${marker}`);
  await site.waitForFunction(() => (window as any).leadcard && (window as any).leadcard.visitorId);
  await site.waitForTimeout(1500);
  await expect(site.locator('#leadcard-popup')).toBeHidden();
  await site.context().close();
});

test('a pop-up sent while the lead is away shows on the next page', async ({ page, browser, baseURL }) => {
  const marker = `wn${Date.now()}`;
  const site = await visitor(browser, baseURL!, marker);
  const id = await leadOf(page.request, marker);
  const context = site.context();
  await site.close();

  await page.goto(`/leads/${id}`);
  await sendFromCard(page, 'popup', `Welcome back ${marker}`);

  const next = await context.newPage();
  await next.goto(`/demo/cart.html?hb=1&m=${marker}`);
  await expect(next.locator('#leadcard-popup .leadcard-popup__body')).toHaveText(`Welcome back ${marker}`);
  await context.close();
});

test('an email from the card lands in the SMTP listener with the conversation reply address', async ({ page }) => {
  const id = await seededLead(page.request, 231);
  const address = `e2e-mail-${Date.now()}@example.test`;
  const card = await page.request.get(`/api/v1/leads/${id}`);
  const res = await page.request.patch(`/api/v1/leads/${id}/properties`, {
    data: { operations: [{ op: 'set', name: '$email', value: { type: 'text', value: address } }] },
    headers: { 'If-Match': card.headers()['etag'] },
  });
  expect(res.status(), await res.text()).toBe(200);

  await page.goto(`/leads/${id}`);
  await sendFromCard(page, 'email', 'Your order has shipped, tracking: https://track.example/123', 'Your order');
  const mail = await waitForMail(address, 'Your order has shipped');
  expect(mail.data).toMatch(/^Subject: Your order/m);
  expect(mail.data).toMatch(/^Reply-To: .*reply\+/im);
  expect(decoded(mail.data)).toContain('https://track.example/123');
  await expect(page.getByTestId('conversation-history').getByTestId('history-row').first()).toContainText('Email');
});
