/**
 * SMTP line endings are CRLF and nothing else (RFC 5321 §2.3.8). A client that sends a lone CR or a
 * lone LF, in a command or in message content, is either broken or trying to smuggle: servers
 * disagree on whether `\n.\n` or `\r.\r` ends a message, so a message carrying one can hide a second
 * envelope that another server would act on (SMTP smuggling, CVE-2023-51764). Sesame refuses the
 * session outright, as Postfix does with `smtpd_forbid_bare_newline = reject`.
 */

const CR = 0x0d;
const LF = 0x0a;

/** Scans a byte stream, chunk by chunk, for a CR not followed by LF or an LF not preceded by CR. */
export class LineGuard {
  /** The last byte of the previous chunk was a CR. */
  private pendingCr = false;

  /** False once the stream has held a lone CR or LF (the verdict does not change after). */
  ok = true;

  /** Feeds the next chunk; returns whether the stream is still clean. */
  feed(chunk: Buffer): boolean {
    if (!this.ok || chunk.length === 0) return this.ok;
    if (this.pendingCr && chunk[0] !== LF) return (this.ok = false);
    for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
      const before = i > 0 ? chunk[i - 1] : this.pendingCr ? CR : -1;
      if (before !== CR) return (this.ok = false);
    }
    for (let i = chunk.indexOf(CR); i >= 0 && i + 1 < chunk.length; i = chunk.indexOf(CR, i + 1)) {
      if (chunk[i + 1] !== LF) return (this.ok = false);
    }
    this.pendingCr = chunk[chunk.length - 1] === CR;
    return true;
  }
}
