/**
 * Which permanent refusals say the recipient address itself is bad, and so put it on the bounce
 * blocklist. A 5xx reply can also mean "your IP is listed", "your message looks like spam" or
 * "your sender address is refused"; blocklisting the recipient for those would punish good
 * addresses for a problem of ours, so those bounce the one message and nothing more. The spam
 * refusals among them are counted apart: they weigh on the sender domain's reputation (FACTS §6.3).
 */

/** Where in the transaction a refusal came. */
export type RefusalStage = 'route' | 'connect' | 'mail' | 'rcpt' | 'data' | 'other';

/** The enhanced status code (RFC 3463) at the start of a reply's text, if any. */
export function enhancedStatus(reply: string): { klass: number; subject: number; detail: number } | null {
  const m = /^(?:\d{3}[ -])?\s*([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(reply.trim());
  return m ? { klass: Number(m[1]), subject: Number(m[2]), detail: Number(m[3]) } : null;
}

/**
 * Enhanced codes naming a bad recipient (RFC 3463, RFC 7505): bad mailbox (5.1.1), bad or
 * non-existent domain (5.1.2), bad address syntax (5.1.3), mailbox moved (5.1.6), null MX
 * (5.1.10), mailbox disabled (5.2.1).
 */
const RECIPIENT_CODES = new Set(['1.1', '1.2', '1.3', '1.6', '1.10', '2.1']);

/** Whether a permanent refusal at `stage` with reply `reply` condemns the recipient address. */
export function condemnsRecipient(stage: RefusalStage, code: number | null, reply: string): boolean {
  if (stage !== 'rcpt' && stage !== 'route') return false;
  const es = enhancedStatus(reply);
  if (es) return es.klass === 5 && (RECIPIENT_CODES.has(`${es.subject}.${es.detail}`) || (stage === 'rcpt' && es.subject === 1 && es.detail === 0));
  // No enhanced code: the classic "no such user" replies to RCPT (RFC 5321 §4.2.2).
  return stage === 'rcpt' && (code === 550 || code === 551 || code === 553);
}

/**
 * Wording of a refusal that blames the message or the sender rather than the address: spam
 * verdicts, IP or domain blocklists (DNSBL "listed at …"), reputation and policy refusals
 * (including DMARC's), content filters. The big providers' own phrasings are in it: Gmail
 * "unsolicited mail", Outlook "banned sending IP", QQ "Mail content denied", NetEase "DT:SPM".
 * Each pattern is a plain word or a fixed alternation, no nested quantifiers, so matching stays
 * linear on any reply a remote sends.
 */
const SPAM_WORDING: readonly RegExp[] = [
  /spam/i,
  /\bjunk\b/i,
  /\bunsolicited\b/i,
  /\bbulk mail/i,
  /\bblock(?:ed|ing|list|listed)?\b/i,
  /\bblacklist/i,
  /\bdenylist/i,
  /\bbanned\b/i,
  /\blisted (?:at|on|in|by)\b/i,
  /\b(?:dns)?rbl\b/i,
  /\breputation\b/i,
  /\bpolic(?:y|ies)\b/i,
  /\bcontent\b/i,
  /\bphish/i,
  /\b(?:virus|malware)\b/i,
  /\bDT:SPM\b/,
];

/**
 * Whether a remote's permanent refusal blames the content or the sender's reputation (a "spam
 * bounce" of FACTS §6.3) rather than the address. Transient replies (4xx, 4.x.x) never are, nor
 * address codes (5.1.x), whatever their wording; otherwise the wording decides, since 5.7.1 alone
 * also means "relaying denied" or "authentication required". Words inside addresses are ignored
 * ("<spam-reports@example.com>: user unknown" is about an address).
 */
export function isSpamRefusal(reply: string): boolean {
  const text = reply.trim();
  if (/^4\d\d\b/.test(text)) return false;
  const es = enhancedStatus(text);
  if (es && (es.klass !== 5 || es.subject === 1)) return false;
  const words = text.split(/\s+/).filter((w) => !w.includes('@')).join(' ');
  return SPAM_WORDING.some((p) => p.test(words));
}
