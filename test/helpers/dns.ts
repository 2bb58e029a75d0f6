/**
 * A real DNS server for the tests: dnsmasq on a free loopback port, authoritative for `.test`
 * (names it does not hold answer NXDOMAIN), restarted with a new set of records whenever the test
 * changes them. Waited for by querying it, never by sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { promises as dns } from 'node:dns';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The records the server holds. */
export interface Zone {
  txt?: { name: string; value: string }[];
  mx?: { name: string; host: string; priority?: number }[];
  /** Address records (IPv4). */
  a?: { name: string; address: string }[];
  /** Address records (IPv6). */
  aaaa?: { name: string; address: string }[];
}

/** A running dnsmasq. */
export interface DnsServer {
  /** `127.0.0.1:port`, for SESAME_DNS_SERVERS. */
  address: string;
  /** Replaces every record (restarts dnsmasq and waits until it answers). */
  publish(zone: Zone): Promise<void>;
  /** Stops answering at all (lookups then fail rather than come back empty). */
  halt(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A port nothing uses right now for UDP nor TCP on 127.0.0.1: dnsmasq listens on both, and a port
 * free for UDP alone may be another test's TCP listener.
 */
async function freeDnsPort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const tcp = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, '127.0.0.1', () => resolve((tcp.address() as AddressInfo).port));
    });
    const udp = createSocket('udp4');
    const udpFree = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((r) => tcp.close(() => r()));
    if (udpFree) await new Promise<void>((r) => udp.close(() => r()));
    if (udpFree || attempt >= 20) return port;
  }
}

/** TXT values longer than 255 bytes are published as several strings, as DNS requires. */
function txtLine(name: string, value: string): string {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 255) parts.push(JSON.stringify(value.slice(i, i + 255)));
  return `txt-record=${name},${parts.join(',')}`;
}

/** Starts dnsmasq with no records. */
export async function startDns(): Promise<DnsServer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startDnsOn(await freeDnsPort());
    } catch (e) {
      // Another process took the port between the check and dnsmasq's start: take another.
      if (attempt >= 4 || !/Address already in use/.test((e as Error).message)) throw e;
    }
  }
}

async function startDnsOn(port: number): Promise<DnsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-dns-'));
  let child: ChildProcess | null = null;
  let generation = 0;

  const stopChild = async (): Promise<void> => {
    if (!child || child.exitCode !== null || child.signalCode !== null) { child = null; return; }
    const c = child;
    child = null;
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGTERM'); });
  };

  const publish = async (zone: Zone): Promise<void> => {
    await stopChild();
    const probe = `probe${++generation}.sesame.test`;
    // Records go in a configuration file: only there does dnsmasq read quoted TXT strings.
    const conf = join(dir, `zone${generation}.conf`);
    writeFileSync(conf, [
      txtLine(probe, 'ready'),
      ...(zone.txt ?? []).map((r) => txtLine(r.name, r.value)),
      ...(zone.mx ?? []).map((r) => `mx-host=${r.name},${r.host},${r.priority ?? 10}`),
      // dnsmasq tells the families apart by the address's form.
      ...[...(zone.a ?? []), ...(zone.aaaa ?? [])].map((r) => `host-record=${r.name},${r.address}`),
      '',
    ].join('\n'));
    const args = [
      '--keep-in-foreground', '--no-resolv', '--no-hosts', '--no-poll', `--conf-file=${conf}`,
      '--listen-address=127.0.0.1', '--bind-interfaces', `--port=${port}`, `--pid-file=${join(dir, 'pid')}`,
      '--local=/test/', '--user=root', '--group=root',
    ];
    const c = spawn('dnsmasq', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    let stderr = '';
    c.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    // Answering the probe name proves this generation (not the previous one) is up.
    const resolver = new dns.Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`dnsmasq exited: ${stderr}`);
      try {
        const r = await resolver.resolveTxt(probe);
        if (r.flat().join('') === 'ready') return;
      } catch { /* not up yet */ }
      if (Date.now() > deadline) {
        await stopChild();
        throw new Error(`dnsmasq did not answer: ${stderr}`);
      }
    }
  };

  try {
    await publish({});
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    address: `127.0.0.1:${port}`,
    publish,
    halt: stopChild,
    async stop() {
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The zone that publishes exactly the records Sesame asked for. */
export function zoneFor(attrs: readonly { Type: string; SendDomain: string; ExpectedValue: string }[]): Zone {
  return {
    txt: attrs.filter((a) => a.Type === 'TXT').map((a) => ({ name: a.SendDomain, value: a.ExpectedValue })),
    mx: attrs.filter((a) => a.Type === 'MX').map((a) => ({ name: a.SendDomain, host: a.ExpectedValue })),
  };
}

/** Creates sender domains through the API and publishes their records, all of them at once. */
export class DomainPublisher {
  private readonly zones = new Map<string, Zone>();
  /** Records published alongside the domains' own (recipient MX and A records, say). */
  extra: Zone = {};
  constructor(private readonly dns: DnsServer) {}

  /** Publishes every domain's records and the extra ones. */
  async publish(): Promise<void> {
    const all = [...this.zones.values(), this.extra];
    await this.dns.publish({
      txt: all.flatMap((z) => z.txt ?? []),
      mx: all.flatMap((z) => z.mx ?? []),
      a: all.flatMap((z) => z.a ?? []),
      aaaa: all.flatMap((z) => z.aaaa ?? []),
    });
  }

  /** Creates `name` in the caller's account, publishes its records, and verifies it. */
  async verified(call: (action: 'CreateEmailIdentity' | 'UpdateEmailIdentity', req: { EmailIdentity: string; DKIMOption?: number }) => Promise<{ Attributes: { Type: string; SendDomain: string; ExpectedValue: string }[]; VerifiedForSendingStatus: boolean }>, name: string, dkimOption?: number): Promise<void> {
    // No undefined fields: the intl SDK signs `DKIMOption=undefined` but sends `DKIMOption=`.
    const created = await call('CreateEmailIdentity', dkimOption === undefined ? { EmailIdentity: name } : { EmailIdentity: name, DKIMOption: dkimOption });
    this.zones.set(name, zoneFor(created.Attributes));
    await this.publish();
    const v = await call('UpdateEmailIdentity', { EmailIdentity: name });
    if (!v.VerifiedForSendingStatus) throw new Error(`${name} did not verify`);
  }
}
