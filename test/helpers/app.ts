/**
 * Starts Sesame in this process on a free port, in a fresh data folder, on SQLite or on a fresh
 * PostgreSQL database, with its log captured for assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger, startApp, type App, type Role } from '../../src/main.js';
import type { NewCredentials } from '../../src/services/accounts.js';
import { startDns, type DnsServer } from './dns.js';
import { createTestDatabase, type TestDatabase } from './pg.js';

export type StoreKind = 'sqlite' | 'postgres';
export const STORES: readonly StoreKind[] = ['sqlite', 'postgres'];

/** A running test server. */
export interface TestApp {
  app: App;
  config: Config;
  /** The settings it runs with (another app given these as its TestEnv shares its store and data folder). */
  env: Record<string, string>;
  /** `127.0.0.1:port`, as an SDK endpoint. */
  endpoint: string;
  url: string;
  /** The first account. */
  creds: NewCredentials;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** Raw log text (to check that no secret ever appears). */
  rawLog(): string;
  stop(): Promise<void>;
}

/** A data folder (and database) that outlives one app, for restarts. */
export interface TestEnv {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** Makes a data folder, and a database when the store is PostgreSQL. */
export async function createTestEnv(store: StoreKind, extra: Record<string, string> = {}): Promise<TestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-test-'));
  let db: TestDatabase | undefined;
  if (store === 'postgres') db = await createTestDatabase();
  const env: Record<string, string> = {
    SESAME_DATA_DIR: dir,
    SESAME_HTTP_PORT: '0',
    SESAME_MX_PORT: '0',
    SESAME_SMTP_PORT: '0',
    SESAME_SMTPS_PORT: '0',
    SESAME_LISTEN_HOST: '127.0.0.1',
    SESAME_LOG_LEVEL: 'info',
    // Tests call faster than 20 per second; the protocol tests set their own limits.
    SESAME_API_RATE_LIMIT: '0',
    ...(db ? { SESAME_DATABASE_URL: db.url } : {}),
    ...extra,
  };
  return {
    env,
    async cleanup() {
      if (db) await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts the api role (and others when asked) in this process. */
export async function startTestApp(store: StoreKind, extra: Record<string, string> = {}, shared?: TestEnv, roles: Role[] = ['api']): Promise<TestApp> {
  const te = shared ?? (await createTestEnv(store, extra));
  const env = { ...te.env, ...extra };
  const config = loadConfig(env);
  const lines: string[] = [];
  const log = createLogger(config.logLevel, { write: (s: string) => { lines.push(s); } });
  const app = await startApp(config, { roles, log });
  let creds = app.firstAccount;
  if (!creds) {
    // A restart on an existing store: a fresh account stands in for the first one.
    creds = await app.services.accounts.create({ name: 'test' });
  }
  const endpoint = `127.0.0.1:${app.httpPort}`;
  return {
    app,
    config,
    env,
    endpoint,
    url: `http://${endpoint}/`,
    creds,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    rawLog: () => lines.join(''),
    async stop() {
      await app.close();
      if (!shared) await te.cleanup();
    },
  };
}

/** A test server whose DNS is a dnsmasq of its own (for domain verification). */
export interface DnsTestApp extends TestApp { dns: DnsServer }

/** Starts dnsmasq, then Sesame resolving through it, with SESAME_HOSTNAME mta.sesame.test. */
export async function startTestAppWithDns(store: StoreKind, extra: Record<string, string> = {}, roles: Role[] = ['api']): Promise<DnsTestApp> {
  const dns = await startDns();
  let t: TestApp;
  try {
    t = await startTestApp(store, { SESAME_DNS_SERVERS: dns.address, SESAME_HOSTNAME: 'mta.sesame.test', ...extra }, undefined, roles);
  } catch (e) {
    await dns.stop();
    throw e;
  }
  return {
    ...t,
    dns,
    async stop() {
      await t.stop();
      await dns.stop();
    },
  };
}
