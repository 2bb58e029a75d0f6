/**
 * One delivery attempt, as named steps: past the maximum age? → load what was accepted → may it
 * still go? → find the route → render and sign → send → the outcome. Every way an attempt ends is
 * an Outcome (delivered, deferred, bounced, dropped); a failure inside Sesame is thrown for the
 * engine to turn into a deferral. In capture mode there is no route and nothing is sent: the
 * message rendered and signed by the same steps is the outcome's, kept with it.
 */
import type { Logger } from 'pino';
import { condemnsRecipient, isSpamRefusal } from '../domain/bounce.js';
import { SendStatus } from '../domain/delivery-status.js';
import { retryDelayMs } from '../domain/retry.js';
import { ByteBudget } from '../lib/byte-budget.js';
import { ChangeWatch } from '../lib/change-watch.js';
import type { TokenSigner } from '../lib/tokens.js';
import { TtlCache } from '../lib/ttl-cache.js';
import type { MessageContent } from '../mail/content.js';
import { readOriginal } from '../mail/original-message.js';
import { personalise } from '../mail/personalise.js';
import type { RenderKey, UnsubscribeLinks } from '../mail/render.js';
import type { Renderer } from '../mail/render-pool.js';
import type { BlocklistService } from '../services/blocklists.js';
import type { IdentityService } from '../services/identities.js';
import type { UnsubscribeService } from '../services/unsubscribe.js';
import { maySend, type SendingRules } from '../services/sending-rules.js';
import type { DomainStore } from '../store/domains.js';
import type { ClaimedDelivery, DeliveryQueue, Outcome } from '../store/queue.js';
import type { UnsubscriptionStore } from '../store/unsubscriptions.js';
import type { Route, RouteHost, Router } from './route.js';
import type { SmtpPool } from './smtp-pool.js';

/** How the worker delivers. */
export interface AttemptPolicy {
  /** `mx`: the recipients' MX hosts; `relay`: one relay for everything; `capture`: record as delivered and keep the message, send nothing. */
  mode: 'mx' | 'relay' | 'capture';
  /** The relay host (relay mode). */
  relay?: { hostname: string; port: number };
  /** Port of remote MX hosts. */
  port: number;
  /** Deferred deliveries older than this are dropped. */
  maxAgeMs: number;
  /** Minutes between attempts (the last repeats). */
  retryMinutes: readonly number[];
  /** Public base URL for unsubscribe and tracking links. */
  publicUrl: URL;
}

/** What an attempt works with. */
export interface AttemptDeps {
  queue: DeliveryQueue;
  /** Whether an account may send (a suspended one's mail waits). */
  rules: Pick<SendingRules, 'standing'>;
  domains: DomainStore;
  identities: IdentityService;
  blocklists: BlocklistService;
  unsubscriptions: UnsubscriptionStore;
  router: Router;
  pool: SmtpPool;
  renderer: Renderer;
  /** The tokens of a recipient's unsubscribe link and address. */
  unsubscribes: Pick<UnsubscribeService, 'linkToken' | 'addressToken'>;
  bounceTokens: TokenSigner;
  policy: AttemptPolicy;
  log: Logger;
}

/** Thrown to stop working on a delivery whose lease was lost. */
export class LeaseLost extends Error {}

/** A sending domain's keys, opened once and kept briefly. */
interface DomainKeys { maySend: boolean; keys: RenderKey[] }

/** A message's content, the domain it was accepted from, and its size. */
type Loaded = MessageContent & { domainId: number; bytes: number };

const CACHE_MS = 30_000;
/** How old an account's standing (suspended or not) may be where the store cannot say it changed: a suspension stops its mail within this. */
const STANDING_STALE_MS = 5_000;
/** Message contents kept for the next recipients of the same message, in bytes at most. */
const CONTENT_CACHE_BYTES = 64 * 1024 * 1024;
/** Bytes of message content being rendered and sent at once, at most (a large one waits its turn). */
const IN_FLIGHT_BYTES = 256 * 1024 * 1024;

/** Attempts deliveries; keeps what recipients of one message share (its content, its signed bytes). */
export class Attempts {
  private readonly contents = new TtlCache<number, Loaded>({ ttlMs: CACHE_MS, maxEntries: 2000, maxWeight: CONTENT_CACHE_BYTES });
  private readonly domainKeys = new TtlCache<number, DomainKeys>({ ttlMs: CACHE_MS, maxEntries: 10_000 });
  /** Signed messages that are the same for every recipient (no unsubscribe link), by message. */
  private readonly rendered = new TtlCache<number, Buffer>({ ttlMs: CACHE_MS, maxEntries: 2000, maxWeight: CONTENT_CACHE_BYTES });
  private readonly bytes = new ByteBudget(IN_FLIGHT_BYTES);
  /** Where tracking URLs start: `<SESAME_PUBLIC_URL>/t/`. */
  private readonly trackingBase: string;
  /** Whether the blocklists and unsubscriptions have changed since a delivery was accepted. */
  private readonly lists: ChangeWatch;

  constructor(private readonly d: AttemptDeps) {
    this.trackingBase = new URL('t/', withSlash(d.policy.publicUrl)).href;
    this.lists = new ChangeWatch(() => {
      const blocklists = d.blocklists.changeMark();
      const unsubscriptions = d.unsubscriptions.changeMark();
      return blocklists === null || unsubscriptions === null ? null : `${blocklists}|${unsubscriptions}`;
    });
  }

  /** The steps of one attempt; `lost` says whether the lease was lost meanwhile (then nothing is sent). */
  async run(c: ClaimedDelivery, lost: () => boolean): Promise<Outcome> {
    if (Date.now() - c.created_at > this.d.policy.maxAgeMs) {
      return { kind: 'dropped', reply: `Gave up after ${c.attempts - 1} attempts: in the queue longer than the maximum age`, at: Date.now() };
    }
    const content = await this.load(c);
    const refusal = await this.stillAllowed(c, content);
    if (refusal) return refusal;
    // Capture mode has no route: its mail goes no further than the message.
    const hosts = this.d.policy.mode === 'capture' ? null : await this.route(c);
    if (hosts !== null && !Array.isArray(hosts)) return hosts;
    // Large messages take their share of a memory budget while they are rendered and sent.
    const giveBack = await this.bytes.take(content.bytes);
    try {
      const message = await this.render(c, content);
      if (lost()) throw new LeaseLost();
      return hosts === null ? await captured(message) : await this.send(c, content, hosts, message);
    } finally {
      giveBack();
    }
  }

  /** Deferred until the next attempt on the schedule, or dropped when past the maximum age. */
  deferral(c: ClaimedDelivery, reply: string): Outcome {
    const now = Date.now();
    const retryAt = now + retryDelayMs(c.attempts, this.d.policy.retryMinutes);
    if (retryAt - c.created_at > this.d.policy.maxAgeMs) {
      return { kind: 'dropped', reply: `Gave up after ${c.attempts} attempts: ${reply}`, at: now };
    }
    return { kind: 'deferred', reply, retryAt };
  }

  /**
   * The message's content, read and parsed once for all its deliveries in flight. The content of a
   * message with one recipient is not kept: nothing else would read it, and kept for the cache's
   * life it would outlive the young generation and cost the collector a full marking.
   */
  private load(c: ClaimedDelivery): Promise<Loaded> {
    return this.contents.load(c.message_row, async () => {
      const row = await this.d.queue.content(c.message_row);
      if (!row) throw new Error(`message ${c.message_row} of delivery ${c.id} is missing`);
      return { ...(JSON.parse(row.content) as MessageContent), domainId: row.domain_id, bytes: Buffer.byteLength(row.content) };
    }, (content) => (content.kind !== 'batch' && content.recipients === 1 ? false : { weight: content.bytes }));
  }

  /**
   * The account must not be suspended (its mail then waits, retried on the schedule, until it is
   * enabled or the mail is too old); the domain must still verify; the recipient must not have been
   * blocklisted or unsubscribed since acceptance. Acceptance checked both lists after the time its
   * deliveries carry (SendEmail, a batch task's chunk), so while neither list has changed since,
   * they are not read again; a submitted message's recipients were checked at RCPT TO, before that
   * time, so its deliveries always read them.
   */
  private async stillAllowed(c: ClaimedDelivery, content: Loaded): Promise<Outcome | null> {
    const now = Date.now();
    if (!(await this.d.rules.standing(c.account_id, STANDING_STALE_MS)).active) {
      return this.deferral(c, '451 4.7.1 Not sent: the sending account is suspended; retried on the schedule until it is enabled (dropped after SESAME_MAX_QUEUE_HOURS)');
    }
    if (!(await this.keysOf(content.domainId)).maySend) {
      return { kind: 'dropped', reply: `${content.domain} no longer verifies (DKIM/SPF records); the mail was not sent`, at: now, sendStatus: SendStatus.DomainNotVerified };
    }
    if (this.lists.unchangedSince(c.created_at) && content.kind !== 'submitted') return null;
    if ((await this.d.blocklists.blocked(c.account_id, [c.recipient], now)).size) {
      return { kind: 'dropped', reply: `${c.recipient} was blocklisted after the mail was accepted`, at: now, sendStatus: SendStatus.Blocklisted };
    }
    if ((await this.d.unsubscriptions.among(c.account_id, content.domain, [c.recipient])).size) {
      return { kind: 'dropped', reply: `${c.recipient} unsubscribed from ${content.domain} after the mail was accepted`, at: now, sendStatus: SendStatus.Unsubscribed };
    }
    return null;
  }

  private keysOf(domainId: number): Promise<DomainKeys> {
    return this.domainKeys.load(domainId, async () => {
      const row = await this.d.domains.byId(domainId);
      return maySend(row) ? { maySend: true, keys: this.d.identities.signingKeys(row) } : { maySend: false, keys: [] };
    });
  }

  /** The addresses to try, or the outcome when there are none. */
  private async route(c: ClaimedDelivery): Promise<RouteHost[] | Outcome> {
    const p = this.d.policy;
    const route: Route = p.mode === 'relay' && p.relay ? await this.d.router.host(p.relay.hostname) : await this.d.router.route(c.recipient_domain);
    if (route.kind === 'hosts') return route.hosts;
    if (route.kind === 'defer') return this.deferral(c, route.reply);
    if (route.kind === 'refused') return notAllowed(c);
    return { kind: 'bounced', reply: route.reply, at: Date.now(), blocklist: condemnsRecipient('route', Number(route.reply.slice(0, 3)), route.reply), spam: false };
  }

  private async render(c: ClaimedDelivery, content: Loaded): Promise<Buffer> {
    const keys = (await this.keysOf(content.domainId)).keys;
    const whole = content.kind === 'batch' ? personalise(content, { id: c.id, recipient: c.recipient, templateData: c.template_data, queuedAt: c.created_at }) : content;
    // HTML composed here is tracked while the account has tracking on (a submitted message is the
    // client's own and is never rewritten).
    const tracking = whole.kind !== 'submitted' && whole.html !== null && (await this.d.rules.standing(c.account_id, STANDING_STALE_MS)).tracking
      ? { deliveryId: c.id, base: this.trackingBase }
      : null;
    if (content.unsubscribeLanguage === '0' && !tracking) {
      // Without an unsubscribe link or tracking nothing in the message depends on the recipient
      // (the VERP address is in the envelope only): it is composed and signed once for all of them.
      // A batch message is each recipient's own, and one with a single recipient is not worth keeping.
      if (content.kind === 'batch' || content.recipients === 1) return this.d.renderer.render({ content: whole, keys, links: null });
      return this.rendered.load(c.message_row, () => this.d.renderer.render({ content: whole, keys, links: null }), (m) => ({ weight: m.length }));
    }
    if (content.unsubscribeLanguage === '0') return this.d.renderer.render({ content: whole, keys, links: null, tracking });
    const token = this.d.unsubscribes.linkToken({ deliveryId: c.id, accountId: c.account_id, domain: content.domain, recipient: c.recipient });
    const links: UnsubscribeLinks = {
      url: new URL(`unsubscribe/${token}?l=${content.unsubscribeLanguage}`, withSlash(this.d.policy.publicUrl)).href,
      // Mail to this address reaches the inbound listener (the bounce domain's MX) and unsubscribes.
      mailto: `mailto:unsubscribe-${this.d.unsubscribes.addressToken(c.id)}@${content.bounceDomain}?subject=unsubscribe`,
    };
    return this.d.renderer.render({ content: whole, keys, links, tracking });
  }

  /** Tries each address in turn while the failure is the connection's; the first real answer decides. */
  private async send(c: ClaimedDelivery, content: MessageContent, hosts: RouteHost[], message: Buffer): Promise<Outcome> {
    const envelope = { from: `b-${this.d.bounceTokens.sign(c.id)}@${content.bounceDomain}`, to: [c.recipient] };
    const port = this.d.policy.mode === 'relay' && this.d.policy.relay ? this.d.policy.relay.port : this.d.policy.port;
    let last = '';
    let refused = false;
    for (const host of hosts) {
      const r = await this.d.pool.send({ address: host.address, port, hostname: host.hostname }, envelope, message);
      const now = Date.now();
      if (r.kind === 'sent') return { kind: 'delivered', reply: r.response, at: now };
      // The route already leaves such addresses out; the pool's own check is a second line.
      if (r.kind === 'refused') { refused = true; continue; }
      // No transaction happened (refused, unreachable, cut before the data): the next host may do better.
      if (r.connection && !r.afterData) {
        last = `${host.hostname} [${host.address}]: ${r.response}`;
        continue;
      }
      if (r.code === null) {
        this.d.log.warn({ delivery: c.id, host: host.hostname, reply: r.response },
          'connection lost after the message was sent, before the reply: retrying, so it may arrive twice');
        return this.deferral(c, r.response);
      }
      // The remote answered: its reply decides.
      return r.permanent
        ? { kind: 'bounced', reply: r.response, at: now, blocklist: condemnsRecipient(r.stage, r.code, r.response), spam: isSpamRefusal(r.response) }
        : this.deferral(c, r.response);
    }
    if (!last && refused) return notAllowed(c);
    return this.deferral(c, last || 'no mail host could be reached');
  }
}

/**
 * Capture mode's outcome: delivered, with the message as the recipient would have had it. Its
 * subject is read back from it (the header reader of returned originals), so a batch recipient's
 * personalised subject and a submitted message's encoded one show as a reader would see them.
 */
async function captured(message: Buffer): Promise<Outcome> {
  const subject = (await readOriginal(message)).subject ?? '';
  return { kind: 'delivered', reply: '250 2.0.0 Captured (SESAME_DELIVERY=capture): not sent', at: Date.now(), capture: { subject, message } };
}

/**
 * The recipient's mail hosts are all on addresses Sesame may not connect to. Dropped, not bounced:
 * it is the operator's policy, not the address's fault, so nothing is blocklisted. The reply names
 * the setting but neither the addresses nor anything they said: those are what a tenant probing
 * the operator's network would want to read.
 */
function notAllowed(c: ClaimedDelivery): Outcome {
  return {
    kind: 'dropped',
    reply: `Not sent: the mail hosts of ${c.recipient_domain} are on private or reserved networks, which are not an allowed destination (SESAME_ALLOW_PRIVATE_NETWORKS is off)`,
    at: Date.now(),
  };
}

const withSlash = (u: URL): URL => new URL(u.href.endsWith('/') ? u.href : `${u.href}/`);
