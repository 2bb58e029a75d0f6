/**
 * What the crash tests share: Sesame as a child process (so it can be killed with SIGKILL) on a
 * store of its own, dnsmasq, and a test MX on 127.0.0.2 for `dest.test` that can hold its replies,
 * so deliveries are in flight (sent, not yet answered) at the moment of the kill.
 */
import { createTestEnv, type StoreKind, type TestEnv } from './app.js';
import { DomainPublisher, startDns, type DnsServer } from './dns.js';
import { freePort, startMx, type TestMx } from './mx.js';
import { printedCredentials, startServe, type Served } from './process.js';
import { b64, sdkClient, type Caller } from './sdk.js';
import { eventually } from './sending.js';

/** The sender address the rig verifies. */
export const CRASH_SENDER = 'news@mail.crash.test';

/** A crash test's setup. */
export interface CrashRig {
  mx: TestMx;
  /** Starts (or starts again) the server; a client of it. */
  start(): Promise<Caller>;
  /** Verifies the sender's domain, adds the sender address and a template `Hello {{n}}`; its id. */
  setUpSending(call: Caller): Promise<number>;
  /** From `n` messages received on, the MX takes each message but holds its reply. */
  holdAfter(n: number, timeoutMs: number): Promise<void>;
  /** Once replies are held, kills the server (SIGKILL), then lets the MX answer again; how many arrived before. */
  killInFlight(): Promise<number>;
  /** Kills the server outright (SIGKILL): nothing of it runs after. */
  kill(): Promise<void>;
  /** The running server's endpoint and the account's credentials (for extension actions). */
  endpoint(): { endpoint: string; creds: { SecretId: string; SecretKey: string } };
  /** The server's settings (where its store is). */
  env: Record<string, string>;
  /** Waits until `n` distinct recipients got mail; copies received per recipient. */
  everyoneServed(n: number, timeoutMs: number): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/** Starts dnsmasq, the MX and a store; deliveries in flight are capped at `inFlight`. */
export async function startCrashRig(store: StoreKind, inFlight: number, extra: Record<string, string> = {}): Promise<CrashRig> {
  const dns: DnsServer = await startDns();
  const port = await freePort();
  const mx = await startMx('127.0.0.2', port);
  const env: TestEnv = await createTestEnv(store, {
    SESAME_DNS_SERVERS: dns.address,
    SESAME_HOSTNAME: 'mta.sesame.test',
    SESAME_OUTBOUND_PORT: String(port),
    // The test MX is on loopback.
    SESAME_ALLOW_PRIVATE_NETWORKS: 'true',
    SESAME_DAILY_QUOTA: 'unlimited',
    SESAME_DELIVERY_CONCURRENCY: String(inFlight),
    SESAME_DELIVERY_LEASE_SECONDS: '3',
    ...extra,
  });
  let server: Served | undefined;
  let creds: { SecretId: string; SecretKey: string } | undefined;
  let release: () => void = () => {};
  return {
    mx,
    async start() {
      server = await startServe({ ...env.env, SESAME_LOG_LEVEL: 'info' });
      // The first start prints the credentials; later starts reuse them.
      creds ??= printedCredentials(server.output());
      if (!creds) throw new Error('the first start printed no credentials');
      return sdkClient('v4:TC3', `127.0.0.1:${server.port}`, creds);
    },
    async setUpSending(call) {
      const domains = new DomainPublisher(dns);
      domains.extra = { mx: [{ name: 'dest.test', host: 'mx.dest.test' }], a: [{ name: 'mx.dest.test', address: '127.0.0.2' }] };
      await domains.verified(call, 'mail.crash.test');
      await call('CreateEmailAddress', { EmailAddress: CRASH_SENDER });
      return (await call('CreateEmailTemplate', { TemplateName: 't', TemplateContent: { Text: b64('Hello {{n}}') } })).TemplateID;
    },
    holdAfter(n, timeoutMs) {
      return eventually(async () => mx.received.length >= n, timeoutMs, `${n} messages delivered`).then(() => {
        mx.mode = { kind: 'hold', release: new Promise<void>((r) => { release = r; }) };
      });
    },
    async killInFlight() {
      await eventually(async () => mx.holding > 0, 60_000, 'deliveries in flight');
      await server?.kill('SIGKILL');
      const atKill = mx.received.length;
      // What the MX held arrives now (the killed sender never learns it): those are the duplicates.
      mx.mode = { kind: 'accept' };
      release();
      return atKill;
    },
    async kill() {
      await server?.kill('SIGKILL');
    },
    env: env.env,
    endpoint() {
      if (!server || !creds) throw new Error('the server is not started');
      return { endpoint: `127.0.0.1:${server.port}`, creds };
    },
    async everyoneServed(n, timeoutMs) {
      await eventually(async () => new Set(mx.received.flatMap((r) => r.to)).size >= n, timeoutMs, 'every recipient');
      const copies = new Map<string, number>();
      for (const r of mx.received) for (const to of r.to) copies.set(to, (copies.get(to) ?? 0) + 1);
      return copies;
    },
    async stop() {
      await server?.kill('SIGKILL');
      await mx.stop();
      await dns.stop();
      await env.cleanup();
    },
  };
}
