/**
 * The DNS records a sender domain publishes, and how what DNS answers is compared with them, the
 * way mail servers read these records: TXT strings joined, tag names and values compared without
 * the whitespace that does not matter, SPF by mechanism rather than by byte.
 */

/** What each record is for. */
export type RecordKind = 'DKIM' | 'SPF' | 'MX' | 'DMARC';

/** One record the domain's owner must publish. */
export interface ExpectedRecord {
  kind: RecordKind;
  type: 'TXT' | 'MX';
  /** The record's host name (DNSAttributes.SendDomain). */
  name: string;
  /** The value to publish (DNSAttributes.ExpectedValue). */
  value: string;
  /** DKIM and SPF must match before the domain may send; MX and DMARC are advised. */
  requiredForSending: boolean;
}

/** A DKIM public key of a domain. */
export interface DkimPublicKey {
  algorithm: 'rsa' | 'ed25519';
  selector: string;
  /** Base64 of the key as the record's p= tag carries it. */
  publicKey: string;
}

/** Where the domain's mail authenticates. */
export interface RecordPolicy {
  /** The bounce domain: envelope sender, MX and SPF live here. */
  bounceDomain: string;
  mxHost: string;
  spf: { include?: string; ips: readonly string[]; hostname: string };
}

/** The DKIM TXT value of a key. */
export const dkimValue = (k: DkimPublicKey): string => `v=DKIM1; k=${k.algorithm}; p=${k.publicKey}`;

/** The SPF mechanisms Sesame needs in the bounce domain's policy. */
export function spfMechanisms(spf: RecordPolicy['spf']): string[] {
  const m = spf.ips.map((ip) => (ip.includes(':') ? `ip6:${ip}` : `ip4:${ip}`));
  if (spf.include) m.push(`include:${spf.include}`);
  if (m.length === 0) m.push(`a:${spf.hostname}`);
  return m;
}

/** Every record the domain must (or should) publish, in the order they are shown. */
export function expectedRecords(domain: string, keys: readonly DkimPublicKey[], policy: RecordPolicy): ExpectedRecord[] {
  return [
    ...keys.map((k): ExpectedRecord => ({
      kind: 'DKIM', type: 'TXT', name: `${k.selector}._domainkey.${domain}`, value: dkimValue(k), requiredForSending: true,
    })),
    { kind: 'SPF', type: 'TXT', name: policy.bounceDomain, value: `v=spf1 ${spfMechanisms(policy.spf).join(' ')} ~all`, requiredForSending: true },
    { kind: 'MX', type: 'MX', name: policy.bounceDomain, value: policy.mxHost, requiredForSending: false },
    { kind: 'DMARC', type: 'TXT', name: `_dmarc.${domain}`, value: 'v=DMARC1; p=none', requiredForSending: false },
  ];
}

/** Tag=value pairs of a DKIM or DMARC record (RFC 6376 §3.2); whitespace around tags and values ignored. */
export function parseTags(record: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !tags.has(name)) tags.set(name, part.slice(eq + 1).trim());
  }
  return tags;
}

/** The outcome of comparing one record with DNS. */
export interface RecordMatch {
  ok: boolean;
  /** What DNS holds at the name (the matching record, else the first relevant one; '' when none). */
  current: string;
}

/** Does any TXT record at the selector publish this key? (p= compared without whitespace; k= defaults to rsa.) */
export function matchDkim(key: DkimPublicKey, txt: readonly string[]): RecordMatch {
  const want = key.publicKey.replace(/\s+/g, '');
  let first = '';
  for (const record of txt) {
    const tags = parseTags(record);
    if (!tags.has('p')) continue;
    first ||= record;
    const v = tags.get('v');
    if (v !== undefined && v !== 'DKIM1') continue;
    if ((tags.get('k') ?? 'rsa').toLowerCase() !== key.algorithm) continue;
    if ((tags.get('p') ?? '').replace(/\s+/g, '') === want) return { ok: true, current: record };
  }
  return { ok: false, current: first || txt[0] || '' };
}

/**
 * Does the SPF policy authorise Sesame? Exactly one `v=spf1` record (RFC 7208 §4.5: two are a
 * permanent error), holding every mechanism Sesame needs, whatever else it holds and in any order.
 * Mechanisms compare case-insensitively, without a `+` qualifier (it is the default).
 */
export function matchSpf(policy: RecordPolicy['spf'], txt: readonly string[]): RecordMatch {
  const spf = txt.filter((r) => /^v=spf1(\s|$)/i.test(r.trim()));
  if (spf.length !== 1) return { ok: false, current: spf.join(' | ') };
  const have = new Set(spf[0].trim().split(/\s+/).slice(1).map((t) => t.replace(/^\+/, '').toLowerCase()));
  const ok = spfMechanisms(policy).every((m) => have.has(m.toLowerCase()));
  return { ok, current: spf[0] };
}

/** Does the bounce domain's MX point at Sesame's inbound host? */
export function matchMx(mxHost: string, exchanges: readonly string[]): RecordMatch {
  const norm = (h: string): string => h.trim().replace(/\.$/, '').toLowerCase();
  const ok = exchanges.some((e) => norm(e) === norm(mxHost));
  return { ok, current: exchanges.join(' ') };
}

/** Is there a DMARC policy (v=DMARC1 with a p= tag)? */
export function matchDmarc(txt: readonly string[]): RecordMatch {
  const records = txt.filter((r) => /^v\s*=\s*DMARC1/i.test(r.trim()));
  const ok = records.length === 1 && parseTags(records[0]).has('p');
  return { ok, current: records.join(' | ') || txt[0] || '' };
}
