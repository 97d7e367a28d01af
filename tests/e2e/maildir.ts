// The mail the server under test delivered to the suite's SMTP listener (smtp-sink.mjs).
import fs from 'node:fs';
import path from 'node:path';
import { expect } from '@playwright/test';

export interface Mail {
  from: string | null;
  to: string[];
  /** The whole message as received: headers, blank line, body (transfer-encoded as sent). */
  data: string;
  at: string;
}

export function maildir(): string {
  const dir = process.env.LEADCARD_E2E_MAILDIR;
  if (!dir) throw new Error('LEADCARD_E2E_MAILDIR is not set: run the suite with `cargo xtask test`');
  return dir;
}

export function mails(): Mail[] {
  const dir = maildir();
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Mail);
}

/** Waits until a mail to `to` whose decoded text contains `text` arrives, and returns it. */
export async function waitForMail(to: string, text: string, timeout = 20_000): Promise<Mail> {
  let found: Mail | undefined;
  await expect
    .poll(
      () => {
        found = mails().find(
          (m) => m.to.some((t) => t.toLowerCase() === to.toLowerCase()) && decoded(m.data).includes(text),
        );
        return found !== undefined;
      },
      { timeout, message: `a mail to ${to} containing "${text}"` },
    )
    .toBe(true);
  return found!;
}

/** The message with quoted-printable soft breaks and escapes undone, and base64 parts decoded. */
export function decoded(data: string): string {
  const qp = data.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  const b64 = [...data.matchAll(/\r?\n\r?\n([A-Za-z0-9+/=\r\n]{16,})(\r?\n|$)/g)]
    .map((m) => {
      try {
        return Buffer.from(m[1].replace(/\s+/g, ''), 'base64').toString('utf8');
      } catch {
        return '';
      }
    })
    .join('\n');
  return `${Buffer.from(qp, 'latin1').toString('utf8')}\n${b64}`;
}
