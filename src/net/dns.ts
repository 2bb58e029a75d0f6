/**
 * DNS lookups through the configured servers (SESAME_DNS_SERVERS) or the system's. A name that
 * does not exist, or has no record of the type, is an empty answer; a server that fails or times out
 * is a failed lookup, which callers must not read as "no record".
 */
import { promises as dns } from 'node:dns';

/** An answer, or a lookup that could not be completed. */
export type Lookup<T> = { ok: true; records: T[] } | { ok: false; error: string };

/** The lookups Sesame needs. */
export interface DnsClient {
  /** TXT records, each record's strings joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2). */
  txt(name: string): Promise<Lookup<string>>;
  /** MX exchanges, best preference first. */
  mx(name: string): Promise<Lookup<{ exchange: string; priority: number }>>;
}

const EMPTY = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

/** A client over Node's resolver. */
export function createDnsClient(servers: readonly string[], timeoutMs = 3000): DnsClient {
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length) resolver.setServers([...servers]);
  const lookup = async <T>(fn: () => Promise<T[]>): Promise<Lookup<T>> => {
    try {
      return { ok: true, records: await fn() };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      return EMPTY.has(code) ? { ok: true, records: [] } : { ok: false, error: code };
    }
  };
  return {
    txt: (name) => lookup(async () => (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''))),
    mx: (name) => lookup(async () => (await resolver.resolveMx(name)).sort((a, b) => a.priority - b.priority)),
  };
}
