/**
 * What operators run Sesame by: Prometheus metrics at /metrics (read by a Prometheus text parser,
 * counting what the test did), who may read them, /readyz and what makes it fail, the SIGTERM
 * drain of a real `sesame serve`, and workers of other processes woken at once on PostgreSQL.
 */
import nodemailer from 'nodemailer';
import parsePrometheus from 'parse-prometheus-text-format';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/main.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { startServe } from './helpers/process.js';
import { send } from './helpers/raw.js';
import { errorCode, sdkClient } from './helpers/sdk.js';
import { eventually, RECIPIENT_DOMAIN, startSending, type SendingFixture } from './helpers/sending.js';
import { TEST_PG_URL } from './helpers/pg.js';

/** A GET on the test app's HTTP port (from `localAddress` when given): status, content type and body. */
async function get(port: number, path: string, headers: Record<string, string> = {}, localAddress?: string): Promise<{ status: number; type: string; body: string }> {
  const r = await send(`http://127.0.0.1:${port}${path}`, { method: 'GET', headers, localAddress });
  return { status: r.status, type: String(r.headers['content-type'] ?? ''), body: r.text };
}

/** An unsigned API request naming `action` (refused before it runs, but answered and counted). */
async function unsignedCall(port: number, action: string): Promise<void> {
  await send(`http://127.0.0.1:${port}/`, { headers: { 'Content-Type': 'application/json', 'X-TC-Action': action, 'X-TC-Version': '2020-10-02' }, body: '{}' });
}

type Families = ReturnType<typeof parsePrometheus>;

/** The value of one sample: the family `name`, the sample whose labels include `labels`. */
function sample(families: Families, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const s = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!s) return undefined;
  return Number(s.value ?? s.count);
}

async function scrape(port: number): Promise<Families> {
  const r = await get(port, '/metrics');
  expect(r.status).toBe(200);
  expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(r.body);
}

const template = (f: SendingFixture, name: string) => ({ TemplateID: f.templateId, TemplateData: JSON.stringify({ name, code: '7' }) });

describe('operating sesame (sqlite)', () => {
  let f: SendingFixture;
  let port: number;
  beforeAll(async () => {
    f = await startSending('sqlite');
    port = f.t.app.httpPort!;
  }, 60_000);
  afterAll(async () => { await f?.stop(); });

  it('serves /metrics in the Prometheus text format, counting requests, submissions, deliveries, commits and rendering', async () => {
    for (const name of ['a', 'b', 'c']) {
      await f.call('SendEmail', { FromEmailAddress: f.sender, Destination: [`m-${name}@${RECIPIENT_DOMAIN}`], Subject: 'Hi', Template: template(f, name) });
    }
    const refused = await errorCode(f.call('SendEmail', { FromEmailAddress: 'nobody@unknown.test', Destination: [`m-x@${RECIPIENT_DOMAIN}`], Subject: 'Hi', Template: template(f, 'x') }));
    // Made-up action names are answered, and counted under one label, not one each.
    await unsignedCall(port, 'NoSuchActionOne');
    await unsignedCall(port, 'NoSuchActionTwo');
    await f.call('UpdateEmailSmtpPassWord', { EmailAddress: f.sender, Password: 'Metrics2026pass' });
    const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: f.t.app.smtpPorts!.smtps, secure: true, auth: { user: f.sender, pass: 'Metrics2026pass' }, tls: { rejectUnauthorized: false } });
    await smtp.sendMail({ from: f.sender, to: `m-smtp@${RECIPIENT_DOMAIN}`, subject: 'by SMTP', text: 'hello' });
    smtp.close();
    await f.mx1.waitFor(4, 30_000);

    // Deliveries are counted once their outcome is written, a moment after the MX has the mail; the
    // queue's gauges are read from the store at most every 5 s.
    const m = await eventually(async () => {
      const s = await scrape(port);
      const waiting = ['queued', 'deferred', 'in_flight'].map((state) => sample(s, 'sesame_queue_deliveries', { state }));
      return sample(s, 'sesame_deliveries_total', { outcome: 'delivered' }) === 4 && waiting.every((n) => n === 0) ? s : undefined;
    }, 20_000, 'four deliveries counted, none waiting');
    expect(sample(m, 'sesame_api_requests_total', { action: 'SendEmail', code: 'OK' })).toBe(3);
    expect(sample(m, 'sesame_api_requests_total', { action: 'SendEmail', code: refused })).toBe(1);
    const actions = new Set(m.find((x) => x.name === 'sesame_api_requests_total')!.metrics.map((x) => x.labels?.action));
    expect([...actions].some((a) => a?.startsWith('NoSuch'))).toBe(false);
    expect(sample(m, 'sesame_api_requests_total', { action: 'unknown' })).toBe(2);
    // (The parser keeps one sample of a histogram with labels: its count is read from the text itself.)
    expect((await get(port, '/metrics')).body).toMatch(/^sesame_api_request_duration_seconds_count\{action="SendEmail"\} 4$/m);
    expect(sample(m, 'sesame_smtp_sessions_total', { listener: 'submission' })).toBeGreaterThanOrEqual(1);
    expect(sample(m, 'sesame_smtp_messages_total', { listener: 'submission', result: 'accepted' })).toBe(1);
    expect(sample(m, 'sesame_deliveries_by_domain_total', { domain: RECIPIENT_DOMAIN, outcome: 'delivered' })).toBe(4);
    expect(sample(m, 'sesame_store_commit_duration_seconds')).toBeGreaterThan(0);
    expect(sample(m, 'sesame_render_busy_seconds_total')).toBeGreaterThan(0);
    expect(sample(m, 'sesame_queue_oldest_age_seconds')).toBe(0);
    expect(sample(m, 'sesame_webhook_backlog')).toBe(0);
    // Node's own: event-loop lag, memory, CPU.
    expect(sample(m, 'sesame_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(m, 'sesame_process_resident_memory_bytes')).toBeGreaterThan(0);
  }, 60_000);

  it('shows what waits in the queue, and for how long', async () => {
    f.mx1.mode = { kind: 'defer' };
    f.mx2.mode = { kind: 'defer' };
    try {
      await f.call('SendEmail', { FromEmailAddress: f.sender, Destination: [`waits@${RECIPIENT_DOMAIN}`], Subject: 'Hi', Template: template(f, 'w') });
      const m = await eventually(async () => {
        const s = await scrape(port);
        return sample(s, 'sesame_queue_deliveries', { state: 'deferred' }) === 1 ? s : undefined;
      }, 30_000, 'the deferred delivery in the gauges');
      expect(sample(m, 'sesame_queue_oldest_age_seconds')).toBeGreaterThan(0);
      expect(sample(m, 'sesame_deliveries_total', { outcome: 'deferred' })).toBeGreaterThanOrEqual(1);
    } finally {
      f.mx1.mode = { kind: 'accept' };
      f.mx2.mode = { kind: 'accept' };
    }
  }, 60_000);

  it('serves metrics to allowed addresses only, never through a proxy, and not at all when off', async () => {
    expect((await get(port, '/metrics', { 'X-Forwarded-For': '127.0.0.1' })).status).toBe(403);
    expect((await get(port, '/metrics', { Forwarded: 'for=127.0.0.1' })).status).toBe(403);
    // One address of loopback allowed, another not (loopback answers from any 127/8 source).
    const narrow = await startTestApp('sqlite', { SESAME_METRICS_ALLOW: '127.0.0.1, fd00::/8' });
    const off = await startTestApp('sqlite', { SESAME_METRICS: 'off' });
    try {
      expect((await get(narrow.app.httpPort!, '/metrics', {}, '127.0.0.1')).status).toBe(200);
      const refused = await get(narrow.app.httpPort!, '/metrics', {}, '127.0.0.2');
      expect(refused.status).toBe(403);
      expect(refused.body).not.toContain('sesame_');
      expect((await get(off.app.httpPort!, '/metrics')).status).toBe(404);
    } finally {
      await narrow.stop();
      await off.stop();
    }
  }, 30_000);

  it('is ready when the store answers, its schema is current and every role runs; not while a migration is missing or it drains', async () => {
    const ready = await get(port, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', checks: { store: 'ok', migrations: 'ok', roles: 'ok', drain: 'ok' } });
    // As if this process were newer than the schema (an upgrade whose migration has not run).
    const db = f.t.app.services.db;
    const newest = (await db.get<{ version: number; name: string; applied_at: number }>('SELECT * FROM schema_migrations ORDER BY version DESC LIMIT 1'))!;
    await db.tx((q) => q.run('DELETE FROM schema_migrations WHERE version = ?', [newest.version]));
    try {
      const behind = await get(port, '/readyz');
      expect(behind.status).toBe(503);
      expect(JSON.parse(behind.body).checks.migrations).toContain(`needs ${newest.version}`);
    } finally {
      await db.tx((q) => q.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [newest.version, newest.name, newest.applied_at]));
    }
    expect((await get(port, '/readyz')).status).toBe(200);

    const other = await startTestApp('sqlite');
    const closing = other.app.close();
    const draining = await other.app.readiness();
    expect(draining.ready).toBe(false);
    expect(draining.checks.drain).toMatch(/^draining/);
    await closing;
    await other.stop();
  }, 30_000);

  it('drains on SIGTERM: stops taking work, gives back what is in flight, and exits within SESAME_DRAIN_SECONDS', async () => {
    // The child process is the only worker on the store (this one's would take the mail too).
    await f.t.app.close();
    let release!: () => void;
    f.mx1.mode = { kind: 'hold', release: new Promise<void>((r) => { release = r; }) };
    const served = await startServe({ ...f.t.env, SESAME_HTTP_PORT: '0', SESAME_SMTP_PORT: '0', SESAME_SMTPS_PORT: '0', SESAME_MX_PORT: '0', SESAME_DRAIN_SECONDS: '2' }, ['--roles', 'api,worker']);
    try {
      const call = sdkClient('v4:TC3', `127.0.0.1:${served.port}`, f.t.creds);
      const { MessageId } = await call('SendEmail', { FromEmailAddress: f.sender, Destination: [`drain@${RECIPIENT_DOMAIN}`], Subject: 'Hi', Template: template(f, 'd') });
      await eventually(async () => f.mx1.holding > 0, 20_000, 'the send in flight at the MX');
      const t0 = Date.now();
      const code = await served.kill('SIGTERM');
      const took = Date.now() - t0;
      expect(code, served.output()).toBe(0);
      expect(took).toBeLessThan(2_000 + 1_000);
      expect(served.output()).toContain('"msg":"draining: taking no new work, finishing what is in flight"');
      // Given back to the queue, in nobody's name, due now: another worker sends it.
      const store = await openStore(f.t.config);
      try {
        const row = await store.get<{ lease_owner: number | null; next_attempt_at: number | null }>(
          'SELECT d.lease_owner, d.next_attempt_at FROM deliveries d JOIN messages m ON m.id = d.message_row WHERE m.message_id = ?', [MessageId]);
        expect(row!.lease_owner).toBeNull();
        expect(row!.next_attempt_at!).toBeLessThanOrEqual(Date.now());
      } finally {
        await store.close();
      }
    } finally {
      release();
      await served.kill('SIGKILL');
      f.mx1.mode = { kind: 'accept' };
    }
  }, 60_000);
});

describe('workers on other processes wake at once (postgres LISTEN/NOTIFY)', () => {
  let f: SendingFixture;
  let api: TestApp;
  let worker: TestApp;
  beforeAll(async () => {
    f = await startSending('postgres');
    // From here, acceptance and delivery are in different processes' hands: nothing in memory joins them.
    await f.t.app.close();
    const shared = { env: f.t.env, cleanup: async () => {} };
    api = await startTestApp('postgres', {}, shared, ['api']);
    worker = await startTestApp('postgres', {}, shared, ['worker']);
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
    await f?.stop();
  });

  it('starts delivery within milliseconds of acceptance by another process, not at the next poll', async () => {
    const call = sdkClient('v4:TC3', api.endpoint, f.t.creds);
    const send = async (name: string): Promise<number> => {
      const before = f.mx1.received.length;
      await call('SendEmail', { FromEmailAddress: f.sender, Destination: [`${name}@${RECIPIENT_DOMAIN}`], Subject: 'Hi', Template: template(f, name) });
      const accepted = Date.now();
      const [got] = (await f.mx1.waitFor(before + 1, 20_000)).slice(before);
      return got.at - accepted;
    };
    // The rendering threads and the connection to the MX are made by the first message.
    await send('warm');
    const latencies: number[] = [];
    for (let i = 0; i < 9; i++) latencies.push(await send(`idle${i}`));
    // The worker polls once a second when idle: without the wake-up each message waits for the next
    // poll (here, sent just after the last delivery, about a second: 855-1,016 ms measured with the
    // wake-up removed); even spread evenly over that second, eight of nine under 400 ms would
    // happen about once in 250 runs.
    console.log(`acceptance to arrival at the MX, idle worker in another process (ms): ${latencies.join(', ')}`);
    expect(latencies.filter((ms) => ms < 400).length).toBeGreaterThanOrEqual(8);
  }, 60_000);

  it('serves health, readiness and metrics from a worker-only process too, and nothing else there', async () => {
    const port = worker.app.httpPort!;
    expect((await get(port, '/healthz')).status).toBe(200);
    expect(JSON.parse((await get(port, '/readyz')).body).status).toBe('ready');
    // Deliveries are counted where they happen (here, not in the api process), once their outcome is written.
    await eventually(async () => sample(await scrape(port), 'sesame_deliveries_total', { outcome: 'delivered' }) === 10, 20_000, 'ten deliveries counted');
    expect(sample(await scrape(api.app.httpPort!), 'sesame_deliveries_total', { outcome: 'delivered' })).toBeUndefined();
    expect((await get(port, '/')).status).toBe(404);
    expect((await get(port, '/console/')).status).toBe(404);
  });

  it('keeps waking after its listening connection is cut', async () => {
    // Every connection of the worker's listener is ended by the server, as a restart would.
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    try {
      const db = new URL(f.t.env.SESAME_DATABASE_URL).pathname.slice(1);
      const cut = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'", [db]);
      expect(cut.rowCount).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    const call = sdkClient('v4:TC3', api.endpoint, f.t.creds);
    // Listening again takes a moment; after that, the wake-ups are back.
    await eventually(async () => {
      const store = await openStore(worker.config);
      try {
        const r = await store.get<{ n: number }>("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'");
        return r!.n > 0;
      } finally {
        await store.close();
      }
    }, 20_000, 'the worker to listen again');
    const latencies: number[] = [];
    for (let i = 0; i < 9; i++) {
      const before = f.mx1.received.length;
      await call('SendEmail', { FromEmailAddress: f.sender, Destination: [`again${i}@${RECIPIENT_DOMAIN}`], Subject: 'Hi', Template: template(f, 'a') });
      const accepted = Date.now();
      const [got] = (await f.mx1.waitFor(before + 1, 20_000)).slice(before);
      latencies.push(got.at - accepted);
    }
    expect(latencies.filter((ms) => ms < 400).length).toBeGreaterThanOrEqual(8);
  }, 60_000);
});
