// Takes README's screenshot of a lead card:
// `node screenshot.mjs BASE_URL OUT.png [light|dark] [LOCALE]` (a `ru-RU` browser: the card in Russian).
import { chromium } from '@playwright/test';

const [base = 'http://127.0.0.1:8080', out = '../../docs/card.png', colorScheme = 'light', locale = 'en-US'] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, colorScheme, locale });
await page.request.post(`${base}/api/v1/session`, { data: { email: 'demo@leadcard.test', password: 'leadcard-demo' } });
const { items } = await (await page.request.get(`${base}/api/v1/leads?limit=50`)).json();
let best = items[0];
let most = -1;
for (const lead of items) {
  const card = await (await page.request.get(`${base}/api/v1/leads/${lead.id}`)).json();
  const score = card.properties.length + card.tags.length * 2 + (lead.last_heartbeat ? 5 : 0);
  if (score > most) [best, most] = [lead, score];
}
await page.request.put(`${base}/api/v1/pins`, { data: { names: ['$email', '$phone'] } });
await page.goto(`${base}/leads/${best.id}`);
await page.getByTestId('lead-card').waitFor();
await page.waitForTimeout(500);
await page.screenshot({ path: out, fullPage: true });
await browser.close();
console.log(`card of lead ${best.id} -> ${out}`);
