// Lead avatars come through the console's own server: the card's and the list's <img> load
// /api/v1/leads/{id}/avatar, never the lead's URL, and show the picture the server fetched from a
// picture server on loopback (allowed for this run by LEADCARD_AVATAR_ALLOW_IP=127.0.0.1).
import { test, expect } from '@playwright/test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// A 2x2 red PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

test('a lead avatar is loaded from our origin and shows the picture', async ({ page }) => {
  let hits = 0;
  const pictures = http.createServer((_req, res) => {
    hits += 1;
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end(PNG);
  });
  await new Promise<void>((resolve) => pictures.listen(0, '127.0.0.1', resolve));
  const { port } = pictures.address() as AddressInfo;
  try {
    const name = `Avatar Owner ${Date.now()}`;
    const url = `http://127.0.0.1:${port}/face.png`;
    const res = await page.request.post('/api/v1/leads', {
      data: {
        properties: [
          { name: '$name', value: { type: 'text', value: name } },
          { name: '$avatar', value: { type: 'text', value: url } },
        ],
      },
    });
    expect(res.status(), await res.text()).toBe(201);
    const { id } = await res.json();

    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    await page.goto(`/leads/${id}`);
    const avatar = page.getByTestId('lead-avatar');
    await expect(avatar).toHaveAttribute('src', new RegExp(`^/api/v1/leads/${id}/avatar\\?v=[0-9a-f]{16}$`));
    await expect.poll(() => avatar.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(2);
    expect(requested.some((u) => u.includes(`:${port}`)), 'the browser never asks the lead URL').toBe(false);
    expect(hits).toBe(1);
  } finally {
    pictures.close();
  }
});
