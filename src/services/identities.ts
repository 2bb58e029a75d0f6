/**
 * Sender domains: creation with DKIM keys, DNS verification (on request and by the periodic
 * re-check), listing with reputation and quota, deletion.
 */
import { fail } from '../errors/coded-error.js';
import { normalizeDomain } from '../domain/address.js';
import {
  bounceDomainOf, expectedRecords, matchDkim, matchDmarc, matchMx, matchSpf,
  type DkimPublicKey, type ExpectedRecord, type RecordMatch, type RecordPolicy,
} from '../domain/dns-records.js';
import { dailyQuotaOf, MAX_REPUTATION_LEVEL } from '../domain/reputation.js';
import { DkimOption, generateDkimKeys, type DkimOptionValue } from '../lib/dkim-keys.js';
import type { SecretBox } from '../lib/secret-box.js';
import type { DnsClient, Lookup } from '../net/dns.js';
import type { DomainRow, DomainStore, RemovedClaim } from '../store/domains.js';
import type { DailyQuota } from '../config/schema.js';
import type { Logger } from 'pino';
import type { RenderKey } from '../mail/render.js';

/** A tag of a domain, as the API spells it. */
export interface Tag { key: string; value: string }

/** A DKIM key as stored: public data in clear, the private key sealed. */
interface StoredDkimKey extends DkimPublicKey { privateKeySealed: string }

/** One record as the API shows it (DNSAttributes). */
export interface RecordStatus {
  type: string;
  /** The name to publish it at. */
  name: string;
  expectedValue: string;
  currentValue: string;
  /** Whether DNS holds it as expected. */
  ok: boolean;
}

/** A domain with its records, as Create/Get/UpdateEmailIdentity answer. */
export interface IdentityView {
  name: string;
  verified: boolean;
  records: RecordStatus[];
  dkimOption: number;
  tags: Tag[];
}

/** A domain as ListEmailIdentities shows it. */
export interface IdentitySummary {
  name: string;
  sendingEnabled: boolean;
  reputationLevel: number;
  dailyQuota: number;
  dkimOption: number;
  tags: Tag[];
}

/** What the domain service is configured with. */
export interface IdentityPolicy {
  selector: string;
  /** The bounce domain's label under the sender domain, or undefined for the domain itself. */
  bounceSubdomain: string | undefined;
  mxHost: string;
  spf: RecordPolicy['spf'];
  sendingIps: readonly string[];
  domainLimit: number;
  reputationLevel: number;
  dailyQuota: DailyQuota;
  recheckMs: number;
}

/** A DKIM key ready to sign with (what the renderer takes). */
export type SigningKey = RenderKey;

/** What a DNS check found: each record's match, and whether the domain may send (null: unknown). */
type CheckOutcome = { matches: RecordMatch[]; verified: boolean | null };

const isDkimOption = (n: number): n is DkimOptionValue => n === 0 || n === 1 || n === 2;

/** Sender domain rules over the domain store and DNS. */
export class IdentityService {
  constructor(
    private readonly store: DomainStore,
    private readonly dns: DnsClient,
    private readonly box: SecretBox,
    private readonly policy: IdentityPolicy,
    private readonly log: Logger,
  ) {}

  /** Creates a domain with fresh DKIM keys (RSA-2048 unless `dkimOption` says otherwise). */
  async create(accountId: number, identity: string, dkimOption: number | undefined, tags: readonly Tag[] | undefined): Promise<IdentityView> {
    const name = checkName(identity);
    const option = checkOption(dkimOption ?? DkimOption.Rsa2048);
    const checkedTags = checkTags(tags ?? []);
    // Cheap checks first: generating an RSA key costs tens of milliseconds. The store checks again.
    // Only a name another account holds *verified* is refused: a mere claim blocks nobody.
    const standing = await this.store.standing(accountId, name);
    if (standing !== 'free') this.refuse(standing, name);
    const result = await this.store.create(accountId, {
      name,
      dkimOption: option,
      selector: this.policy.selector,
      dkimKeys: await this.sealKeys(name, option),
      tags: storedTags(checkedTags),
      reputationLevel: this.policy.reputationLevel,
      now: Date.now(),
    }, this.policy.domainLimit);
    if (result.kind !== 'created') this.refuse(result.kind, name);
    return this.view(result.row, null);
  }

  private refuse(kind: 'exists' | 'taken' | 'limit', name: string): never {
    switch (kind) {
      case 'exists': fail('InvalidParameterValue.RepeatCreation', `${name} is already a sender domain of this account.`);
      case 'taken': fail('InvalidParameterValue.CreatedByOther', `${name} is a verified sender domain of another account.`);
      case 'limit': fail('OperationDenied.ExceedDomainLimit', `This account already has ${this.policy.domainLimit} sender domains, the most allowed.`);
    }
  }

  /** The domain and what DNS holds for each of its records now. */
  async get(accountId: number, identity: string): Promise<IdentityView> {
    const row = await this.find(accountId, identity);
    return this.view(row, await this.checkStill(row));
  }

  /** Checks DNS now (after new keys, when `dkimOption` asks for another kind). */
  async verify(accountId: number, identity: string, dkimOption: number | undefined): Promise<IdentityView> {
    let row = await this.find(accountId, identity);
    if (dkimOption !== undefined && checkOption(dkimOption) !== row.dkim_option) {
      await this.store.replaceKeys(accountId, row.id, dkimOption, await this.sealKeys(row.name, dkimOption as DkimOptionValue), Date.now());
      row = await this.find(accountId, identity);
    }
    return this.view(row, await this.checkStill(row));
  }

  /** A page of the account's domains, optionally only those carrying every given tag. */
  async list(accountId: number, limit: number | undefined, offset: number | undefined, tags: readonly Tag[] | undefined): Promise<{ items: IdentitySummary[]; total: number }> {
    const all = (await this.store.list(accountId)).filter((r) => hasTags(parseTags(r), tags ?? []));
    const page = all.slice(offset ?? 0, limit === undefined ? undefined : (offset ?? 0) + limit);
    return {
      total: all.length,
      items: page.map((r) => ({
        name: r.name,
        sendingEnabled: r.verified === 1,
        reputationLevel: r.reputation_level,
        dailyQuota: this.dailyQuota(r.reputation_level),
        dkimOption: r.dkim_option,
        tags: parseTags(r),
      })),
    };
  }

  /** The highest level and quota a domain can reach under the configured quota policy. */
  maximum(): { level: number; dailyQuota: number } {
    return { level: MAX_REPUTATION_LEVEL, dailyQuota: this.dailyQuota(MAX_REPUTATION_LEVEL) };
  }

  /** IP addresses mail leaves from (SendIp). */
  sendingIps(): string[] {
    return [...this.policy.sendingIps];
  }

  /** Deletes a domain that has no sender addresses left. */
  async delete(accountId: number, identity: string): Promise<void> {
    const name = checkName(identity);
    const r = await this.store.delete(accountId, name);
    if (r === 'missing') notFound(name);
    if (r === 'has-senders') {
      fail('OperationDenied.SenderWithDomainIsNotEmpty', `${name} still has sender addresses; delete them first.`);
    }
  }

  /** The domain's keys to sign with (opened from the store). */
  signingKeys(row: DomainRow): SigningKey[] {
    return (JSON.parse(row.dkim_keys) as StoredDkimKey[]).map((k) => ({
      algorithm: k.algorithm,
      selector: k.selector,
      privateKeyPem: this.box.open(k.privateKeySealed, sealPurpose(row.name, k.selector)),
    }));
  }

  /**
   * The periodic re-check (worker): claims due domains, looks their records up, and records the
   * outcome. A verified domain whose DKIM or SPF record no longer matches stops sending; a lookup
   * that fails (timeout, server failure) changes nothing and is retried at the next round.
   */
  async recheckDue(now = Date.now(), batch = 50): Promise<number> {
    const due = await this.store.claimDue(now, batch, this.policy.recheckMs);
    await Promise.all(due.map(async (row) => {
      const outcome = await this.check(row);
      if (outcome === 'gone') return;
      if (outcome.verified !== null && outcome.verified !== (row.verified === 1)) {
        this.log.warn({ appAccount: row.account_id, domain: row.name, verified: outcome.verified },
          outcome.verified ? 'sender domain verified by the periodic DNS check' : 'sender domain no longer verifies: sending stopped');
      }
    }));
    return due.length;
  }

  /** The daily quota of a level under the configured policy, as the API shows it (0: no limit). */
  private dailyQuota(level: number): number {
    return dailyQuotaOf(this.policy.dailyQuota, level) ?? 0;
  }

  /** Checks a domain the caller asked about; one removed meanwhile (another account verified it) is not found. */
  private async checkStill(row: DomainRow): Promise<CheckOutcome> {
    const outcome = await this.check(row);
    if (outcome === 'gone') notFound(row.name);
    return outcome;
  }

  private async find(accountId: number, identity: string): Promise<DomainRow> {
    const name = checkName(identity);
    const row = await this.store.get(accountId, name);
    if (!row) notFound(name);
    return row;
  }

  private async sealKeys(domain: string, option: DkimOptionValue): Promise<string> {
    const keys = await generateDkimKeys(option, this.policy.selector);
    const stored: StoredDkimKey[] = keys.map((k) => ({
      algorithm: k.algorithm,
      selector: k.selector,
      publicKey: k.publicKey,
      privateKeySealed: this.box.seal(k.privateKeyPem, sealPurpose(domain, k.selector)),
    }));
    return JSON.stringify(stored);
  }

  private expected(row: DomainRow): ExpectedRecord[] {
    const keys = (JSON.parse(row.dkim_keys) as StoredDkimKey[]).map(({ algorithm, selector, publicKey }) => ({ algorithm, selector, publicKey }));
    return expectedRecords(row.name, keys, this.recordPolicy(row.name));
  }

  private recordPolicy(domain: string): RecordPolicy {
    const sub = this.policy.bounceSubdomain;
    return { bounceDomain: bounceDomainOf(domain, sub), mxHost: this.policy.mxHost, spf: this.policy.spf };
  }

  /**
   * Looks every record up, stores the outcome, and returns what each record holds, or 'gone' when
   * the domain is no longer the account's. When a required lookup fails nothing is stored (the
   * question stays open); a stale outcome is not stored either. A domain another account holds
   * verified is not verified here, whatever DNS holds.
   */
  private async check(row: DomainRow): Promise<CheckOutcome | 'gone'> {
    const startedAt = Date.now();
    const expected = this.expected(row);
    const keys = (JSON.parse(row.dkim_keys) as StoredDkimKey[]);
    const policy = this.recordPolicy(row.name);
    const results = await Promise.all(expected.map(async (rec): Promise<{ match: RecordMatch; failed: boolean }> => {
      if (rec.kind === 'MX') {
        const mx = await this.dns.mx(rec.name);
        return outcome(mx, (records) => matchMx(policy.mxHost, records.map((m) => m.exchange)));
      }
      const txt = await this.dns.txt(rec.name);
      return outcome(txt, (records) => {
        if (rec.kind === 'SPF') return matchSpf(policy.spf, records);
        if (rec.kind === 'DMARC') return matchDmarc(records);
        const key = keys.find((k) => `${k.selector}._domainkey.${row.name}` === rec.name);
        return key ? matchDkim(key, records) : { ok: false, current: '' };
      });
    }));
    // A required record whose lookup failed leaves the question open: keep what was known.
    const requiredFailed = expected.some((r, i) => r.requiredForSending && results[i].failed);
    let verified = requiredFailed ? null : expected.every((r, i) => !r.requiredForSending || results[i].match.ok);
    if (verified !== null) {
      const recorded = await this.store.recordCheck(row.account_id, row.id, {
        verified, keysChecked: row.dkim_keys, startedAt, nextCheckAt: Date.now() + this.policy.recheckMs,
      });
      if (recorded.kind === 'gone') return 'gone';
      if (recorded.kind === 'recorded') {
        verified = recorded.verified;
        this.reportClaims(row, recorded);
      }
    }
    return { matches: results.map((r) => r.match), verified };
  }

  /** Says in the log when a verification took a name from other accounts' claims, or was refused one. */
  private reportClaims(row: DomainRow, r: { heldByOther: boolean; removed: RemovedClaim[] }): void {
    if (r.removed.length) {
      this.log.warn({
        domain: row.name, accountId: row.account_id,
        removedFrom: r.removed.map((c) => ({ accountId: c.accountId, appId: c.appId, senders: c.senders })),
      }, 'sender domain verified: the unverified claims of other accounts were removed');
    }
    if (r.heldByOther) {
      this.log.warn({ domain: row.name, accountId: row.account_id },
        'sender domain records match, but another account holds the domain verified: not verified');
    }
  }

  private view(row: DomainRow, checked: CheckOutcome | null): IdentityView {
    const expected = this.expected(row);
    return {
      name: row.name,
      verified: checked?.verified ?? row.verified === 1,
      dkimOption: row.dkim_option,
      tags: parseTags(row),
      records: expected.map((r, i) => ({
        type: r.type,
        name: r.name,
        expectedValue: r.value,
        currentValue: checked?.matches[i].current ?? '',
        ok: checked?.matches[i].ok ?? false,
      })),
    };
  }
}

function outcome<T>(lookup: Lookup<T>, match: (records: T[]) => RecordMatch): { match: RecordMatch; failed: boolean } {
  if (!lookup.ok) return { match: { ok: false, current: '' }, failed: true };
  return { match: match(lookup.records), failed: false };
}

function checkName(identity: string): string {
  const name = normalizeDomain(identity);
  if (!name) fail('InvalidParameterValue.InvalidEmailIdentity', `${JSON.stringify(identity)} is not a valid domain name.`);
  return name;
}

function checkOption(n: number): DkimOptionValue {
  if (!isDkimOption(n)) fail('InvalidParameterValue', 'DKIMOption must be 0 (RSA-1024), 1 (RSA-2048) or 2 (RSA-2048 and Ed25519).');
  return n;
}

/** At most 50 tags, each key 1–128 and value 0–256 characters, no key twice. */
function checkTags(tags: readonly Tag[]): Tag[] {
  if (tags.length > 50) fail('InvalidParameterValue', 'TagList holds at most 50 tags.');
  const keys = new Set<string>();
  for (const t of tags) {
    if (t.key.length < 1 || t.key.length > 128 || t.value.length > 256) {
      fail('InvalidParameterValue', 'Each TagKey is 1 to 128 characters and each TagValue at most 256.');
    }
    if (keys.has(t.key)) fail('InvalidParameterValue', `TagList names ${JSON.stringify(t.key)} twice.`);
    keys.add(t.key);
  }
  return tags.map((t) => ({ key: t.key, value: t.value }));
}

/** Tags as the domains table keeps them (JSON of `{TagKey, TagValue}`, the form stored since tags were first kept). */
interface StoredTag { TagKey: string; TagValue: string }

function storedTags(tags: readonly Tag[]): string {
  return JSON.stringify(tags.map((t): StoredTag => ({ TagKey: t.key, TagValue: t.value })));
}

function parseTags(r: DomainRow): Tag[] {
  return (JSON.parse(r.tags) as StoredTag[]).map((t) => ({ key: t.TagKey, value: t.TagValue }));
}

function hasTags(have: readonly Tag[], want: readonly Tag[]): boolean {
  return want.every((w) => have.some((h) => h.key === w.key && h.value === w.value));
}

function notFound(name: string): never {
  fail('InvalidParameterValue.NotExistDomain', `${name} is not a sender domain of this account.`);
}

const sealPurpose = (domain: string, selector: string): string => `dkim:${domain}:${selector}`;
