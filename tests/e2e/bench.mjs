// Browser figures for `cargo xtask bench` (headless Chromium on the release app):
//   node bench.mjs BASE_URL EMAIL PASSWORD SAMPLES
// 1. Card open in the Inbox: click a conversation -> its thread and the lead's card drawn (a
//    MutationObserver in the page sees both, then the next animation frame).
// 2. The card's segment recomputation: 50 segments, the card's `leadcard:segments` Performance
//    measures (the core evaluator run in wasm), one or more per card load.
// 3. When this run created the segments: the Inbox figure again, while they fill (between 2's
//    creation and its card loads).
// Prints Markdown tables like the rest of the bench.
import { chromium } from '@playwright/test';

const [base, email, password, samplesArg = '30'] = process.argv.slice(2);
const samples = Number(samplesArg);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const api = page.request;
const must = async (res, what) => {
  if (res.status() >= 300) throw new Error(`${what} answered ${res.status()}: ${await res.text()}`);
  return res.status() === 204 ? null : res.json();
};
await must(await api.post(`${base}/api/v1/session`, { data: { email, password } }), 'sign-in');

const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * q) - 1))];
};
const fmt = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(1)} ms`);

// ---- 1. Card open in the Inbox ----------------------------------------------------------------
let page1 = await must(await api.get(`${base}/api/v1/conversations?status=all&limit=50`), 'GET /conversations');
if (page1.items.length < 10) {
  const { items: more } = await must(await api.get(`${base}/api/v1/leads?limit=60`), 'GET /leads');
  let made = page1.items.length;
  for (const lead of more) {
    if (made >= 20) break;
    for (const channel of ['chat', 'email', 'popup']) {
      const res = await api.post(`${base}/api/v1/leads/${lead.id}/messages`, {
        data: { channel, body: `Hello ${lead.display_name}, how can we help?`, idempotency_key: `bench-${lead.id}-${channel}` },
      });
      if (res.status() < 300) {
        made++;
        break;
      }
    }
  }
  page1 = await must(await api.get(`${base}/api/v1/conversations?status=all&limit=50`), 'GET /conversations');
}
const conversations = page1.items.map((c) => c.id);

/** Opens conversations one by one from the list; the click -> thread and card drawn times. */
async function inboxOpens() {
  await page.goto(`${base}/inbox?status=all`);
  await page.waitForSelector('[data-testid=conversation-row]', { timeout: 30_000 });
  const opens = [];
  for (let i = 0; i < samples + 2; i++) {
    const id = conversations[i % conversations.length];
    const ms = await page.evaluate(async (id) => {
      const row = document.querySelector(`[data-testid=conversation-row][data-id="${id}"]`);
      if (!row) throw new Error(`no row for conversation ${id}`);
      const target = row.querySelector('a') ?? row;
      const drawn = () =>
        location.pathname === `/inbox/${id}` &&
        document.querySelector('[data-testid=thread] [data-testid=message]') &&
        document.querySelector('[data-testid=inbox-card] [data-testid=lead-name]');
      return await new Promise((resolve, reject) => {
        const t0 = performance.now();
        const observer = new MutationObserver(() => {
          if (!drawn()) return;
          observer.disconnect();
          requestAnimationFrame(() => resolve(performance.now() - t0));
        });
        observer.observe(document.body, { childList: true, subtree: true, attributes: true });
        setTimeout(() => reject(new Error('not drawn in 30 s')), 30_000);
        target.click();
      });
    }, id);
    if (i >= 2) opens.push(ms); // two warm-up opens
    // Back to the list alone, so the next open draws a thread from nothing.
    await page.goBack();
    await page.waitForFunction(() => location.pathname === '/inbox');
    await page.waitForFunction(() => !document.querySelector('[data-testid=thread] [data-testid=message]'));
  }
  return opens;
}

const opens = await inboxOpens();
console.log(`\n## Inbox in the browser (headless Chromium, release wasm)\n`);
console.log('| figure | value |\n|---|---|');
console.log(
  `| card open in the Inbox (click a conversation -> thread and card drawn) | p50 ${fmt(pct(opens, 0.5))}, p95 ${fmt(pct(opens, 0.95))} (goal p95 <= 100 ms) |`,
);
console.log(`| samples | ${opens.length} opens over ${conversations.length} conversations |`);

// ---- 2. Segments on the card (after the Inbox: creating 50 segments starts their fill over
// every lead in the background, which would weigh on the Inbox figure) ----------------------------------------------------------------
const existing = await must(await api.get(`${base}/api/v1/segments`), 'GET /segments');
const countries = ['Germany', 'France', 'Spain', 'Italy', 'Poland'];
const shapes = (i) => [
  { kind: 'property', name: '$country', op: 'equals', value: countries[i % 5] },
  { kind: 'property', name: 'plan', op: i % 2 ? 'equals' : 'not_equals', value: 'pro' },
  { kind: 'tag', tag: ['vip', 'newsletter', 'trial'][i % 3], has: i % 4 !== 0 },
  { kind: 'event', event: 'Added to cart', op: 'at_least', count: 1 + (i % 3), days: 7 + i },
  { kind: 'group', match: 'any', conditions: [
      { kind: 'property', name: '$city', op: 'contains', value: 'er' },
      { kind: 'event', event: 'Purchase', op: i % 2 ? 'not_performed' : 'at_most', ...(i % 2 ? {} : { count: 2 }) },
  ] },
];
for (let i = existing.length; i < 50; i++) {
  const all = shapes(i).slice(0, 2 + (i % 4));
  await must(
    await api.post(`${base}/api/v1/segments`, { data: { name: `Bench segment ${i}`, filter: { all } } }),
    'POST /segments',
  );
}
const segmentCount = (await must(await api.get(`${base}/api/v1/segments`), 'GET /segments')).length;
if (existing.length < 50) {
  // ---- 3. The Inbox again, while the segments just created fill over every lead ------------
  const filling = await inboxOpens();
  console.log(
    `| card open in the Inbox while ${50 - existing.length} new segments fill | p50 ${fmt(pct(filling, 0.5))}, p95 ${fmt(pct(filling, 0.95))} (${filling.length} opens) |`,
  );
}
const { items: leads } = await must(await api.get(`${base}/api/v1/leads?limit=20`), 'GET /leads');
const durations = [];
for (let i = 0; i < samples; i++) {
  const lead = leads[i % leads.length];
  await page.goto(`${base}/leads/${lead.id}`);
  await page.waitForSelector('[data-testid=lead-segments] :is(ul, p, [data-testid=lead-segment])', { timeout: 30_000 });
  await page.waitForFunction(() => performance.getEntriesByName('leadcard:segments').length > 0, null, { timeout: 30_000 });
  const ms = await page.evaluate(() => performance.getEntriesByName('leadcard:segments').map((e) => e.duration));
  durations.push(...ms);
}
console.log(`\n## Card segments in the browser (headless Chromium, release wasm)\n`);
console.log('| figure | value |\n|---|---|');
console.log(
  `| recomputation of ${segmentCount} segments for one card (core evaluator in wasm) | p50 ${fmt(pct(durations, 0.5))}, p95 ${fmt(pct(durations, 0.95))} (goal p95 <= 5 ms) |`,
);
console.log(`| samples | ${durations.length} recomputations over ${samples} card loads |`);

await browser.close();
