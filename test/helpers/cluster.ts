/**
 * Several `sesame serve --roles …` child processes on one PostgreSQL database, as a cluster runs:
 * each with its own data folder and ports (chosen by the system: every port is 0), all with one
 * master key. Processes are started (and killed) one by one by name, and whatever a test does,
 * `stop()` leaves none behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printedCredentials, startServe, type Served } from './process.js';

/** A process of the cluster. */
export interface Member {
  name: string;
  roles: string;
  served: Served;
  pid: number;
}

/** A running cluster. */
export interface Cluster {
  /** Settings every process shares. */
  env: Record<string, string>;
  /** Starts `sesame serve --roles <roles>` under `name` and resolves once it is ready. */
  start(name: string, roles: string, extra?: Record<string, string>): Promise<Member>;
  member(name: string): Member;
  /** Every process started, the killed included. */
  members(): Member[];
  /** The first account's credentials (printed by the first process started on the empty database). */
  creds(): { SecretId: string; SecretKey: string };
  /** The JSON log lines of every process so far, each with the name of its process. */
  logs(): (Record<string, unknown> & { member: string })[];
  /** Kills every process still running (SIGKILL) and removes the data folders. */
  stop(): Promise<void>;
}

/** A cluster on the database at `databaseUrl`, with `env` for every process. */
export function createCluster(databaseUrl: string, env: Record<string, string>): Cluster {
  const shared: Record<string, string> = {
    SESAME_DATABASE_URL: databaseUrl,
    // Processes on several machines share the key by setting, not by a file in one data folder.
    SESAME_MASTER_KEY: randomBytes(32).toString('hex'),
    SESAME_HTTP_PORT: '0',
    SESAME_SMTP_PORT: '0',
    SESAME_SMTPS_PORT: '0',
    SESAME_MX_PORT: '0',
    SESAME_LISTEN_HOST: '127.0.0.1',
    SESAME_LOG_LEVEL: 'info',
    ...env,
  };
  const members = new Map<string, Member>();
  const dirs: string[] = [];
  let creds: { SecretId: string; SecretKey: string } | undefined;
  return {
    env: shared,
    async start(name, roles, extra = {}) {
      const dir = mkdtempSync(join(tmpdir(), `sesame-cluster-${name}-`));
      dirs.push(dir);
      const served = await startServe({ ...shared, SESAME_DATA_DIR: dir, ...extra }, ['--roles', roles]);
      const m: Member = { name, roles, served, pid: served.child.pid ?? 0 };
      members.set(name, m);
      creds ??= printedCredentials(served.output());
      return m;
    },
    member(name) {
      const m = members.get(name);
      if (!m) throw new Error(`no process named ${name}`);
      return m;
    },
    members: () => [...members.values()],
    creds() {
      if (!creds) throw new Error('no process printed the first account\'s credentials');
      return creds;
    },
    logs() {
      const out: (Record<string, unknown> & { member: string })[] = [];
      for (const m of members.values()) {
        for (const line of m.served.output().split('\n')) {
          if (!line.startsWith('{"level"')) continue;
          try { out.push({ ...(JSON.parse(line) as Record<string, unknown>), member: m.name }); } catch { /* a line cut by a kill */ }
        }
      }
      return out;
    },
    async stop() {
      await Promise.all([...members.values()].map((m) => m.served.kill('SIGKILL')));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** The port a member's log says its SMTP submission (implicit TLS) listens on. */
export function smtpsPortOf(m: Member): number {
  const line = m.served.output().split('\n').find((l) => l.includes('"msg":"SMTP submission listening'));
  if (!line) throw new Error(`${m.name} runs no SMTP submission`);
  return (JSON.parse(line) as { smtpsPort: number }).smtpsPort;
}
