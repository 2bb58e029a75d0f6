/** Helpers of the benchmarks: where the build is, when a server is up, how much memory it took, a sending setup. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { DomainPublisher, startDns } from '../test/helpers/dns.js';
import { freePort } from '../test/helpers/mx.js';
import { sdkClient, type Caller } from '../test/helpers/sdk.js';
import type { Creds } from './load.js';
import { startSink, type Sink } from './sink.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The machine, as each benchmark's heading names it: cores, CPU model, memory, Node's version. */
export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** Resolves once /healthz answers 200 (polling, since the log level may hide the start line). */
export async function waitForHealth(port: number, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`server exited with ${server.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => { res.resume(); resolve(res.statusCode === 200); })
        .on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error('server did not become healthy');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The process's peak resident set size (VmHWM), in MB. */
export function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

/** The built server with the api role only, on SQLite in a temporary folder, and an account without rate limits. */
export interface ApiServer {
  port: number;
  env: Record<string, string | undefined>;
  server: ChildProcess;
  creds: Creds;
  /** Bytes of log the server has written. */
  logBytes(): number;
  stop(): Promise<void>;
}

/** Starts the api role (BENCH_PROF: with a CPU profile into that folder) and creates the account. */
export async function startApiServer(extraEnv: Record<string, string> = {}): Promise<ApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-'));
  const port = await freePort();
  const env = { ...process.env, SESAME_DATA_DIR: dir, SESAME_HTTP_PORT: String(port), SESAME_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', ...extraEnv };
  const cli = join(ROOT, 'dist/cli/main.js');
  const server = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : []), cli, 'serve', '--roles', 'api'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let logBytes = 0;
  server.stdout!.on('data', (c: Buffer) => { logBytes += c.length; });
  const stop = async () => {
    server.kill('SIGTERM');
    if (server.exitCode === null) await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHealth(port, server);
    const creds = JSON.parse(execFileSync(process.execPath, [cli, 'account', 'create', '--name', 'bench', '--rate-limit', '0'], { env }).toString()) as Creds;
    return { port, env, server, creds, logBytes: () => logBytes, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A built server with a verified sender domain and address, smtp-sink as every recipient's MX. */
export interface SendingServer {
  env: Record<string, string | undefined>;
  dir: string;
  httpPort: number;
  server: ChildProcess;
  /** smtp-sink on 127.0.0.2, every recipient's MX; it counts what it receives. */
  sink: Sink;
  creds: Creds & { AppId: number };
  call: Caller;
  sender: string;
  /** Stops the server and starts it again on the same data folder (the account and domain stay), running `whileStopped` in between. */
  restart(whileStopped?: () => void | Promise<void>): Promise<void>;
  /** The first log line (parsed) from now on that `match` accepts; needs `watchLog`. */
  nextLogLine(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** How the server is started. */
export interface SendingServerOptions {
  /** Read the server's log lines (nextLogLine); otherwise they are not read at all, which costs the bench nothing. */
  watchLog?: boolean;
}

/** Starts dnsmasq, smtp-sink on 127.0.0.2 and the built server with `roles`; sets up `sender`. */
export async function startSendingServer(roles: string, extraEnv: Record<string, string> = {}, opts: SendingServerOptions = {}): Promise<SendingServer> {
  const dns = await startDns();
  const sink = await startSink();
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-'));
  const httpPort = await freePort();
  const env = {
    ...process.env,
    SESAME_DATA_DIR: dir,
    SESAME_HTTP_PORT: String(httpPort),
    SESAME_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    SESAME_DNS_SERVERS: dns.address,
    SESAME_HOSTNAME: 'mta.sesame.test',
    SESAME_OUTBOUND_PORT: String(sink.port),
    // smtp-sink listens on loopback.
    SESAME_ALLOW_PRIVATE_NETWORKS: 'true',
    SESAME_FREQUENCY_LIMIT: '0',
    SESAME_DAILY_QUOTA: 'unlimited',
    ...extraEnv,
  };
  const cli = join(ROOT, 'dist/cli/main.js');
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : [];
  // BENCH_NODE_FLAGS: extra flags for the server's node (e.g. --trace-gc), for investigations.
  prof.push(...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []));
  // BENCH_SERVER_LOG names a file for the server's log (otherwise it is not kept).
  const logFile = process.env.BENCH_SERVER_LOG ? openSync(process.env.BENCH_SERVER_LOG, 'w') : null;
  const watchers: { match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }[] = [];
  const spawnServer = (): ChildProcess => {
    if (!opts.watchLog) return spawn(process.execPath, [...prof, cli, 'serve', '--roles', roles], { env, stdio: ['ignore', logFile ?? 'ignore', 'inherit'] });
    const child = spawn(process.execPath, [...prof, cli, 'serve', '--roles', roles], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: child.stdout! }).on('line', (text) => {
      if (logFile !== null) writeSync(logFile, `${text}\n`);
      if (watchers.length === 0) return;
      let line: Record<string, unknown>;
      try { line = JSON.parse(text) as Record<string, unknown>; } catch { return; }
      for (const w of watchers.splice(0)) {
        if (w.match(line)) w.resolve(line); else watchers.push(w);
      }
    });
    return child;
  };
  const stopServer = async (server: ChildProcess): Promise<void> => {
    server.kill('SIGTERM');
    if (server.exitCode === null) await new Promise((r) => server.once('exit', r));
  };
  const s = { server: spawnServer() } as SendingServer;
  const stop = async (): Promise<void> => {
    await stopServer(s.server);
    await sink.stop();
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHealth(httpPort, s.server);
    const creds = JSON.parse(execFileSync(process.execPath, [cli, 'account', 'create', '--name', 'bench', '--rate-limit', '0'], { env }).toString()) as Creds & { AppId: number };
    const call = sdkClient('v4:TC3', `127.0.0.1:${httpPort}`, creds);
    const domains = new DomainPublisher(dns);
    domains.extra = { mx: [{ name: 'sink.test', host: 'mx.sink.test' }], a: [{ name: 'mx.sink.test', address: '127.0.0.2' }] };
    await domains.verified(call, 'mail.bench.test');
    const sender = 'news@mail.bench.test';
    await call('CreateEmailAddress', { EmailAddress: sender });
    return Object.assign(s, {
      env, dir, httpPort, sink, creds, call, sender, stop,
      async restart(whileStopped?: () => void | Promise<void>) {
        await stopServer(s.server);
        await whileStopped?.();
        s.server = spawnServer();
        await waitForHealth(httpPort, s.server);
      },
      nextLogLine(match: (line: Record<string, unknown>) => boolean) {
        if (!opts.watchLog) throw new Error('nextLogLine needs the server started with watchLog');
        return new Promise<Record<string, unknown>>((resolve) => { watchers.push({ match, resolve }); });
      },
    });
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Bytes of the SQLite store's files (database and write-ahead log) in `dir`. */
export function storeBytes(dir: string): number {
  const size = (f: string): number => { try { return statSync(join(dir, f)).size; } catch { return 0; } };
  return size('sesame.db') + size('sesame.db-wal');
}

/**
 * The fields of /proc/<pid>/stat (or of one of its threads) after the command's name: [0] is the
 * state, [1] the parent, [11] and [12] its user and system time, [13] and [14] those of the children
 * it has waited for, all in clock ticks (100 a second).
 */
export function procStat(pid: number | 'self', task?: string): string[] {
  const stat = readFileSync(task ? `/proc/${pid}/task/${task}/stat` : `/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
}

/** Seconds of CPU a process has used (user and system), from /proc. */
export function cpuSeconds(pid: number, task?: string): number {
  const f = procStat(pid, task);
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Seconds of CPU (user and system) of the live processes whose parent is `ppid`. */
export function childrenCpuSeconds(ppid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let f: string[];
    try { f = procStat(Number(entry)); } catch { continue; }
    if (Number(f[1]) === ppid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / 100;
}

/** Seconds of CPU (user and system) of this process's children that have ended. */
export function endedChildrenCpuSeconds(): number {
  const f = procStat('self');
  return (Number(f[13]) + Number(f[14])) / 100;
}
