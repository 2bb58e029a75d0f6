/**
 * A PostgreSQL server of a test's own (initdb and pg_ctl from /usr/lib/postgresql/<version>/bin,
 * in a temporary folder, on a free port), for tests that stop or restart the server: the shared one
 * at 127.0.0.1:5432 serves every other test. initdb refuses to run as root, as CI runs the tests,
 * so as root the server's commands run as the `postgres` user, in a folder that user owns.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './mx.js';

const run = promisify(execFile);

/** A running private server. */
export interface PrivatePg {
  /** URL of its `sesame` database. */
  url: string;
  port: number;
  /** Stops the server (fast shutdown: sessions are cut, as when a server restarts). */
  stop(): Promise<void>;
  /** Starts it again (same folder, port and data), and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops it for good and removes its folder (also after a failure, and when it is already stopped). */
  destroy(): Promise<void>;
}

/** The bin folder of the newest PostgreSQL installed. */
function pgBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root} (install the postgresql package)`);
  versions.sort((a, b) => Number(b) - Number(a));
  return join(root, versions[0], 'bin');
}

/** Starts a private server with an empty `sesame` database. */
export async function startPrivatePg(): Promise<PrivatePg> {
  const bin = pgBin();
  const dir = mkdtempSync(join(tmpdir(), 'sesame-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    chmodSync(dir, 0o700);
  }
  /** Runs a server command, as `postgres` when we are root. */
  const pgCmd = (cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> => (asRoot
    ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args])
    : run(join(bin, cmd), args));
  const ctl = (action: 'start' | 'stop', extra: string[] = []): Promise<unknown> => pgCmd('pg_ctl', [
    action, '-D', data, '-w', '-t', '60', ...extra,
    ...(action === 'start' ? ['-l', join(dir, 'server.log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on`] : ['-m', 'fast']),
  ]);
  let running = false;
  const destroy = async (): Promise<void> => {
    if (running || existsSync(join(data, 'postmaster.pid'))) await ctl('stop').catch(() => undefined);
    running = false;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await pgCmd('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
    await ctl('start');
    running = true;
    const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    await admin.connect();
    try { await admin.query('CREATE DATABASE sesame'); } finally { await admin.end(); }
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/sesame`,
    port,
    async stop() { await ctl('stop'); running = false; },
    async start() { await ctl('start'); running = true; },
    destroy,
  };
}
