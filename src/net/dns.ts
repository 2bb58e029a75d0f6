/**
 * DNS lookups through the configured servers (SESAME_DNS_SERVERS) or the system's. A name that
 * does not exist, or has no record of the type, is an empty answer; a server that fails or times out
 * is a failed lookup, which callers must not read as "no record".
 */
import { promises as dns } from 'node:dns';

/** An answer, or a lookup that could not be completed. */
export type Lookup<T> = { ok: true; records: T[]; nxdomain: boolean } | { ok: false; error: string };

/** An MX record. */
export interface MxRecord { exchange: string; priority: number }

/** The lookups Sesame needs. */
export interface DnsClient {
  /** TXT records, each record's strings joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2). */
  txt(name: string): Promise<Lookup<string>>;
  /** MX records, best preference first. */
  mx(name: string): Promise<Lookup<MxRecord>>;
  /** IPv4 then IPv6 addresses of a host. */
  addresses(name: string): Promise<Lookup<string>>;
}

const NXDOMAIN = new Set(['ENOTFOUND', 'NXDOMAIN']);
const NODATA = new Set(['ENODATA']);

/** A client over Node's resolver. */
export function createDnsClient(servers: readonly string[], timeoutMs = 3000): DnsClient {
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length) resolver.setServers([...servers]);
  const lookup = async <T>(fn: () => Promise<T[]>): Promise<Lookup<T>> => {
    try {
      return { ok: true, records: await fn(), nxdomain: false };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      if (NXDOMAIN.has(code)) return { ok: true, records: [], nxdomain: true };
      if (NODATA.has(code)) return { ok: true, records: [], nxdomain: false };
      return { ok: false, error: code };
    }
  };
  return {
    txt: (name) => lookup(async () => (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''))),
    mx: (name) => lookup(async () => (await resolver.resolveMx(name)).sort((a, b) => a.priority - b.priority)),
    async addresses(name) {
      const [v4, v6] = await Promise.all([lookup(() => resolver.resolve4(name)), lookup(() => resolver.resolve6(name))]);
      if (v4.ok && v6.ok) return { ok: true, records: [...v4.records, ...v6.records], nxdomain: v4.nxdomain && v6.nxdomain };
      // One family answering is enough to connect.
      if (v4.ok && v4.records.length) return v4;
      if (v6.ok && v6.records.length) return v6;
      return v4.ok ? v6 : v4;
    },
  };
}
