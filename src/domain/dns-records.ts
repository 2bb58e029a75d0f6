/**
 * The DNS records a sender domain publishes, and how what DNS answers is compared with them, the
 * way mail servers read these records: TXT strings joined, tag names and values compared without
 * the whitespace that does not matter, SPF by mechanism rather than by byte.
 */

import { BlockList, isIP } from 'node:net';

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

/**
 * Tag=value pairs of a DKIM or DMARC record (RFC 6376 §3.2): whitespace around tags and values is
 * ignored; a record naming a tag twice is invalid (null).
 */
export function parseTags(record: string): Map<string, string> | null {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (part.trim() !== '') return null;
      continue;
    }
    const name = part.slice(0, eq).trim();
    if (!name) return null;
    if (tags.has(name)) return null;
    tags.set(name, part.slice(eq + 1).trim());
  }
  return tags;
}

/** The outcome of comparing one record with DNS. */
export interface RecordMatch {
  ok: boolean;
  /** What DNS holds at the name (the matching record, else the first relevant one; '' when none). */
  current: string;
}

/**
 * Does a TXT record at the selector publish this key, usable for Sesame's signatures? `v=`, when
 * present, must come first and be DKIM1 (RFC 6376 §3.6.1); `k=` defaults to rsa; `h=`, when
 * present, must allow sha256; `s=`, when present, must allow email; `p=` is compared without spaces.
 */
export function matchDkim(key: DkimPublicKey, txt: readonly string[]): RecordMatch {
  const want = key.publicKey.replace(/\s+/g, '');
  let first = '';
  for (const record of txt) {
    const tags = parseTags(record);
    if (!tags || !tags.has('p')) { first ||= record; continue; }
    first ||= record;
    const v = tags.get('v');
    if (v !== undefined && (v !== 'DKIM1' || [...tags.keys()][0] !== 'v')) continue;
    if ((tags.get('k') ?? 'rsa').toLowerCase() !== key.algorithm) continue;
    const h = tags.get('h');
    if (h !== undefined && !h.split(':').map((x) => x.trim().toLowerCase()).includes('sha256')) continue;
    const st = tags.get('s');
    if (st !== undefined && !st.split(':').map((x) => x.trim().toLowerCase()).some((x) => x === 'email' || x === '*')) continue;
    if ((tags.get('p') ?? '').replace(/\s+/g, '') === want) return { ok: true, current: record };
  }
  return { ok: false, current: first };
}

/**
 * Does the SPF policy authorise Sesame, as a receiver evaluates it (RFC 7208)? Exactly one record
 * that starts `v=spf1` (§4.5: a leading space, or two records, and receivers find none or an
 * error); every mechanism Sesame needs must pass before the first `all` (terms after it are never
 * reached): IP addresses inside a listed ip4/ip6 network, include and a by domain name (case and a
 * trailing dot do not matter); a `-`, `~` or `?` qualifier does not pass.
 */
export function matchSpf(policy: RecordPolicy['spf'], txt: readonly string[]): RecordMatch {
  const spf = txt.filter((r) => /^v=spf1( |$)/i.test(r));
  if (spf.length !== 1) return { ok: false, current: spf.join(' | ') || txt.find((r) => /v=spf1/i.test(r)) || '' };
  const passing: string[] = [];
  for (const term of spf[0].split(' ').filter(Boolean).slice(1)) {
    if (/^[+\-~?]?all$/i.test(term)) break;
    if (/^[-~?]/.test(term)) continue;
    passing.push(term.replace(/^\+/, '').toLowerCase());
  }
  const ok = spfMechanisms(policy).every((need) => passing.some((have) => spfCovers(have, need.toLowerCase())));
  return { ok, current: spf[0] };
}

/** Does a passing term of the record cover a mechanism Sesame needs? */
function spfCovers(have: string, need: string): boolean {
  const [needKind, ...needRest] = need.split(':');
  const needValue = needRest.join(':');
  const colon = have.indexOf(':');
  if (colon < 0) return false;
  const kind = have.slice(0, colon);
  const value = have.slice(colon + 1);
  if (kind !== needKind) return false;
  if (kind === 'ip4' || kind === 'ip6') {
    const [net, bits] = value.split('/');
    const family = kind === 'ip4' ? 'ipv4' : 'ipv6';
    if (isIP(net) === 0 || isIP(needValue) === 0) return false;
    const list = new BlockList();
    const prefix = bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 'ipv4' ? 32 : 128)) return false;
    list.addSubnet(net, prefix, family);
    return list.check(needValue, family);
  }
  const name = (v: string): string => v.split('/')[0].replace(/\.$/, '');
  return name(value) === name(needValue);
}

/** Does the bounce domain's MX point at Sesame's inbound host? */
export function matchMx(mxHost: string, exchanges: readonly string[]): RecordMatch {
  const norm = (h: string): string => h.trim().replace(/\.$/, '').toLowerCase();
  const ok = exchanges.some((e) => norm(e) === norm(mxHost));
  return { ok, current: exchanges.join(' ') };
}

/** Is there one DMARC policy (first tag v=DMARC1, with a p= tag; RFC 7489 §6.4)? */
export function matchDmarc(txt: readonly string[]): RecordMatch {
  const records = txt.filter((r) => /^v\s*=\s*DMARC1\s*(;|$)/.test(r));
  const tags = records.length === 1 ? parseTags(records[0]) : null;
  return { ok: tags !== null && tags.has('p'), current: records.join(' | ') || txt[0] || '' };
}

/** Where a domain's bounces go (VERP envelope senders, the MX record, SPF): its bounce subdomain, if one is configured. */
export function bounceDomainOf(domain: string, bounceSubdomain: string | undefined): string {
  return bounceSubdomain ? `${bounceSubdomain}.${domain}` : domain;
}
