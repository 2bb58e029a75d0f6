/**
 * A private Postfix instance for the comparison benchmark: its own configuration, queue and data
 * folders in a temporary folder, smtpd on 127.0.0.1 at a free port, relaying everything to one
 * smtp-sink. It never reads or writes the machine's own instance beyond `postconf -h` of where
 * Postfix's programs live, and is stopped and removed at the end, even on failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/mx.js';
import { childrenCpuSeconds, procStat } from './server.js';

/** The programs the comparison needs, all from Debian's `postfix` package. */
const PROGRAMS = ['postfix', 'postconf', 'smtp-source', 'smtp-sink'];

/**
 * How the relay is tuned, as data (the doc records these): Postfix's defaults except where a relay
 * to one known next hop wants otherwise; nothing is made slower than by its defaults.
 */
export const RELAY_TUNING = {
  /** Processes per service (20 smtpd for 20 client sessions, 20 smtp for the relay): Postfix's default. */
  default_process_limit: 100,
  /** Parallel deliveries to the next hop: Postfix's default, twice Sesame's SESAME_CONNECTIONS_PER_HOST (10). */
  default_destination_concurrency_limit: 20,
  /** No slow start towards the sink: the relay opens its 20 connections at once, as Sesame's pool does. */
  initial_destination_concurrency: 20,
  /**
   * Uses a daemon process serves before it exits and the master starts another: 10,000 rather
   * than the default 100, so that cleanup and smtp are not restarted every 100 messages (worth 2 to
   * 8% of the relay rate here, within the runs' noise, but it is what a busy relay would set).
   */
  max_use: 10_000,
  /** Connections to the next hop are reused while mail waits for it (Postfix's default). */
  smtp_connection_cache_on_demand: 'yes',
  /**
   * smtpd takes mail as fast as it can. Postfix's default (1s) makes smtpd wait whenever the queue
   * manager lags, which holds its intake to its relay rate (about 900 against 1,300 per second
   * here); Sesame's intake has no such brake, so the intake compared is Postfix's unbraked one.
   */
  in_flow_delay: '0s',
} as const;

/** Throws, saying how to install it, unless Postfix's programs are on the PATH and we may start a master. */
export function requirePostfix(): void {
  const missing = PROGRAMS.filter((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0);
  if (missing.length) throw new Error(`${missing.join(', ')} not found: this benchmark needs Debian's postfix package (apt-get install -y postfix)`);
  if (process.getuid?.() !== 0) throw new Error('Postfix\'s master daemon starts as root: run this benchmark as root');
}

/** A running private Postfix. */
export interface Postfix {
  /** smtpd's port on 127.0.0.1. */
  port: number;
  /** The temporary folder holding everything of this instance. */
  dir: string;
  /** Seconds of CPU (user and system) used by the master and every process it started, dead or alive. */
  cpuSeconds(): number;
  /** Messages in the queue (incoming, active, deferred, hold). */
  queued(): number;
  /** The end of Postfix's log, for error messages. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** Writes the instance's main.cf and master.cf, checks it (which makes the queue's folders) and starts it. */
export async function startPostfix(relayPort: number): Promise<Postfix> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-postfix-'));
  // Postfix's daemons run as mail_owner and must reach their folders through this one.
  chmodSync(dir, 0o755);
  const etc = join(dir, 'etc');
  mkdirSync(etc);
  // postfix chdirs to the queue before anything else; `check` makes its subfolders and data_directory.
  mkdirSync(join(dir, 'queue'));
  const port = await freePort();
  writeFileSync(join(etc, 'main.cf'), mainCf(dir, relayPort));
  writeFileSync(join(etc, 'master.cf'), masterCf(port));
  const postfix = (command: string): void => { execFileSync('postfix', ['-c', etc, command], { stdio: 'ignore' }); };
  let master = 0;
  const logTail = (lines = 20): string => {
    try { return readFileSync(join(dir, 'maillog'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n'); } catch { return '(no log)'; }
  };
  // Synchronous, so that it also runs from an 'exit' handler.
  const stopSync = (): void => {
    process.removeListener('exit', stopSync);
    try { postfix('stop'); } catch { /* not running */ }
    // `postfix stop` signals the master and returns; the folder goes once the master is gone.
    const deadline = Date.now() + 10_000;
    while (master && alive(master) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    if (master && alive(master)) process.kill(master, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);
  try {
    postfix('check');
    postfix('start');
    master = Number(readFileSync(join(dir, 'queue/pid/master.pid'), 'utf8').trim());
    await waitForListen(port);
  } catch (e) {
    const log = logTail();
    stopSync();
    throw new Error(`the private Postfix did not start: ${(e as Error).message}\n${log}`);
  }
  return {
    port,
    dir,
    cpuSeconds: () => treeCpuSeconds(master),
    queued: () => ['incoming', 'active', 'deferred', 'hold']
      .reduce((n, q) => n + readdirSync(join(dir, 'queue', q), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length, 0),
    logTail,
    async stop() { stopSync(); },
  };
}

/**
 * main.cf of a relay-only instance: local delivery off, every message relayed to the sink by its
 * address (no DNS), open to 127.0.0.0/8 only, no TLS or AUTH (Postfix's smtpd as usually
 * benchmarked). Where Postfix's programs live comes from the machine's `postconf -h`.
 */
function mainCf(dir: string, relayPort: number): string {
  const paths = ['daemon_directory', 'command_directory', 'shlib_directory', 'meta_directory', 'mail_owner', 'setgid_group'];
  const values = execFileSync('postconf', ['-h', ...paths]).toString().trim().split('\n');
  const settings: Record<string, string | number> = {
    compatibility_level: '3.6',
    ...Object.fromEntries(paths.map((p, i) => [p, values[i]])),
    queue_directory: join(dir, 'queue'),
    data_directory: join(dir, 'data'),
    // Logged as in production (a line per message and step), into the folder rather than syslog.
    maillog_file: join(dir, 'maillog'),
    maillog_file_prefixes: dir,
    myhostname: 'relay.bench.test',
    mydomain: 'bench.test',
    myorigin: '$myhostname',
    mydestination: '',
    local_recipient_maps: '',
    local_transport: 'error:5.1.1 local delivery is off',
    alias_maps: '',
    alias_database: '',
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    relayhost: `[127.0.0.2]:${relayPort}`,
    smtp_dns_support_level: 'disabled',
    smtp_host_lookup: 'native',
    smtpd_peername_lookup: 'no',
    biff: 'no',
    ...RELAY_TUNING,
  };
  return Object.entries(settings).map(([k, v]) => `${k} = ${v}\n`).join('');
}

/** master.cf: smtpd on 127.0.0.1:`port`, and the daemons a relay needs, none chrooted. */
function masterCf(port: number): string {
  // service type private unpriv chroot wakeup maxproc command
  return [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
    '',
  ].join('\n');
}

/** Whether `pid` runs (a zombie has ended). */
function alive(pid: number): boolean {
  try { return procStat(pid)[0] !== 'Z'; } catch { return false; }
}

/** CPU seconds of `pid`, its live children and its children that ended (which it waited for). */
function treeCpuSeconds(pid: number): number {
  const f = procStat(pid);
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100 + childrenCpuSeconds(pid);
}

/** Resolves once something accepts connections at 127.0.0.1:`port`. */
async function waitForListen(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); }).on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens at 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
