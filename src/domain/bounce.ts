/**
 * Which permanent refusals say the recipient address itself is bad, and so put it on the bounce
 * blocklist. A 5xx reply can also mean "your IP is listed", "your message looks like spam" or
 * "your sender address is refused"; blocklisting the recipient for those would punish good
 * addresses for a problem of ours, so those bounce the one message and nothing more.
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
