// Signs the demo operator in once and saves the session for the specs (sign-in is rate limited).
import { request, type FullConfig } from '@playwright/test';

export const STATE = 'test-results/.auth/demo.json';
export const DEMO = {
  email: process.env.LEADCARD_DEMO_EMAIL ?? 'demo@leadcard.test',
  password: process.env.LEADCARD_DEMO_PASSWORD ?? 'leadcard-demo',
};

export default async function globalSetup(config: FullConfig) {
  const baseURL = config.projects[0].use.baseURL;
  const api = await request.newContext({ baseURL });
  const res = await api.post('/api/v1/session', { data: DEMO });
  if (res.status() !== 200) throw new Error(`demo sign-in answered ${res.status()}: ${await res.text()}`);
  await api.storageState({ path: STATE });
  await api.dispose();
}
