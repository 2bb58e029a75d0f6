/**
 * The webhook outbox through a crash, on both stores: the server (a child process) records an
 * event, its first request fails, and the server is killed with SIGKILL before the retry; started
 * again, it posts the event, under the same webhook-id.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_FILE } from '../src/main.js';
import { STORES } from './helpers/app.js';
import { CRASH_SENDER, startCrashRig, type CrashRig } from './helpers/crash.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { extensionCall } from './helpers/sdk.js';
import { eventually } from './helpers/sending.js';

/** Rows of `table` in the server's store, read from outside it. */
async function countRows(store: string, env: Record<string, string>, table: string): Promise<number> {
  if (store === 'sqlite') {
    const db = new Database(join(env.SESAME_DATA_DIR, SQLITE_FILE), { readonly: true });
    try { return Number((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n); } finally { db.close(); }
  }
  const c = new pg.Client({ connectionString: env.SESAME_DATABASE_URL });
  await c.connect();
  try { return Number((await c.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${table}`)).rows[0].n); } finally { await c.end(); }
}

describe.each(STORES)('webhooks through kill -9 on %s', (store) => {
  let rig: CrashRig;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await startReceiver();
    // The retry waits long enough for the kill to come first.
    rig = await startCrashRig(store, 4, { SESAME_WEBHOOK_RETRY_SCHEDULE: '3s' });
  }, 60_000);
  afterAll(async () => { await rig?.stop(); await rx?.stop(); });

  it('posts an event recorded before the kill once the server is back', async () => {
    const call = await rig.start();
    const templateId = await rig.setUpSending(call);
    const { endpoint, creds } = rig.endpoint();
    await extensionCall(endpoint, creds, 'SetEmailCallback', { CallbackUrl: `${rx.base}/hook` });
    rx.answer = () => (rx.received.length === 1 ? 500 : 200);
    await call('SendEmail', { FromEmailAddress: CRASH_SENDER, Destination: ['kept@dest.test'], Subject: 'Hi', Template: { TemplateID: templateId, TemplateData: '{"n":"1"}' } });
    const first = await rx.waitFor((r) => r.body.includes('"delivered"'));
    // Once the failure is settled (the event waits for its retry, not under a lease), the kill.
    await eventually(async () => (await countRows(store, rig.env, 'webhook_log')) >= 1);
    await rig.kill();
    await rig.start();
    const again = await rx.waitFor((r) => r !== first && r.body.includes('"delivered"'), 30_000);
    expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(JSON.parse(again.body)).toMatchObject({ event: 'delivered', email: 'kept@dest.test' });
  }, 90_000);
});
