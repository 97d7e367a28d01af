// The lead a visitor on the site became, found in Visitors by the marker in its page's URL.
import { expect, type APIRequestContext } from '@playwright/test';

/** The lead the visitor on a page whose URL ends with `m=<marker>` became (polled until it shows). */
export async function leadOf(request: APIRequestContext, marker: string): Promise<number> {
  let id: number | undefined;
  await expect
    .poll(async () => {
      const list = await (await request.get('/api/v1/visitors')).json();
      id = list.items.find((v: any) => (v.page_url ?? '').endsWith(`m=${marker}`))?.id;
      return id !== undefined;
    })
    .toBe(true);
  return id!;
}
