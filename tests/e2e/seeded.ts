// The demo data's leads in a stable order: oldest first. New leads (a demo-site visitor, an
// identify) come after them, so a slot names the same seeded lead for the whole run.
import type { APIRequestContext } from '@playwright/test';

export interface LeadSummary {
  id: number;
  name: string | null;
  email: string | null;
  display_name: string;
}

export async function seededLeads(request: APIRequestContext): Promise<LeadSummary[]> {
  const all: LeadSummary[] = [];
  let after: string | null = null;
  do {
    const res = await request.get(`/api/v1/leads?limit=200${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    if (res.status() !== 200) throw new Error(`GET /leads answered ${res.status()}`);
    const page = await res.json();
    all.push(...page.items);
    after = page.next ?? null;
  } while (after);
  return all.sort((a, b) => a.id - b.id);
}

/** The id of the seeded lead in `slot` (0 = the oldest); each spec uses slots of its own. */
export async function seededLead(request: APIRequestContext, slot: number): Promise<number> {
  return (await seededLeads(request))[slot].id;
}
