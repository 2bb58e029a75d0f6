/**
 * DKIM signatures (RFC 6376), relaxed/relaxed, RSA-SHA256 and Ed25519-SHA256 (RFC 8463).
 *
 * The headers that say who sent a message and what it is about are *over-signed* (RFC 6376
 * §8.15): named in `h=` once more than they occur. A verifier matches the names of `h=` to fields
 * from the bottom up, and an extra name with no field left stands for "no further field of this
 * name", so a second From, a Subject prepended in transit or a Reply-To added where there was none
 * breaks the signature instead of riding on it (a DKIM replay that a reader would see as genuine).
 * mailauth's signer lists each field present once at most, so it cannot do this; its verifier is
 * what the tests check these signatures with.
 *
 * Keys are parsed once per thread and kept (parsing a PEM costs more than an RSA signature).
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import { fieldValue, splitMessage, type HeaderField } from './header.js';
import { privateKeyFor } from './key-cache.js';

/** A DKIM key to sign with. */
export interface DkimKey { algorithm: 'rsa' | 'ed25519'; selector: string; privateKeyPem: string }

/**
 * Signed once more than they occur, so none can be added: who it is from and for, what it is,
 * where replies go, how it is built, and its unsubscribe headers (RFC 8058 §4 asks for those to be
 * signed).
 */
export const OVERSIGNED_HEADERS = [
  'from', 'reply-to', 'to', 'cc', 'subject', 'date', 'message-id', 'in-reply-to', 'references',
  'mime-version', 'content-type', 'content-transfer-encoding', 'list-unsubscribe', 'list-unsubscribe-post',
] as const;

/**
 * Signed as they occur, no more: a mailing list that resends the message may add its own Sender
 * (RFC 6376 §B.2.3) and List-Id, and its signature should not break for that alone.
 */
export const SIGNED_HEADERS = ['sender', 'list-id', 'feedback-id'] as const;

const CRLF = Buffer.from('\r\n');

/** Header lines are folded before this many characters (RFC 5322 §2.1.1 recommends 78). */
const FOLD_AT = 76;

/** The DKIM-Signature fields for `message` (CRLF line endings), one per key, to put before it. */
export function dkimSignatures(message: Buffer, domain: string, keys: readonly DkimKey[]): Buffer {
  if (keys.length === 0) return Buffer.alloc(0);
  const { fields, body } = splitMessage(message);
  const bh = createHash('sha256').update(relaxedBody(body)).digest('base64');
  const { names, signed } = selectFields(fields);
  const canonicalFields = signed.map(relaxedField).join('');
  const out: string[] = [];
  for (const key of keys) {
    let privateKey: KeyObject;
    try {
      privateKey = privateKeyFor(key.privateKeyPem);
    } catch (e) {
      throw new Error(`DKIM signing failed: the key of selector ${key.selector} cannot be read (${(e as Error).message})`);
    }
    if (privateKey.asymmetricKeyType !== key.algorithm) throw new Error(`DKIM signing failed: the key of selector ${key.selector} is not an ${key.algorithm} key`);
    const algorithm = key.algorithm === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256';
    const unsigned = signatureField([`v=1; a=${algorithm}; c=relaxed/relaxed; d=${domain}; s=${key.selector};`, ...hTag(names), `bh=${bh};`, 'b=']);
    // The signature covers the selected fields, then its own field with an empty b= and no final CRLF (§3.7).
    const data = Buffer.from(canonicalFields + relaxedField({ name: 'dkim-signature', lines: [unsigned] }).slice(0, -2), 'latin1');
    out.push(`${unsigned}${fold(signatureOf(data, privateKey, key.algorithm))}\r\n`);
  }
  return Buffer.from(out.join(''), 'latin1');
}

/** RSA signs the data with SHA-256; Ed25519 signs its SHA-256 hash (RFC 8463 §3). */
function signatureOf(data: Buffer, key: KeyObject, algorithm: DkimKey['algorithm']): string {
  return algorithm === 'rsa'
    ? sign('sha256', data, key).toString('base64')
    : sign(null, createHash('sha256').update(data).digest(), key).toString('base64');
}

/**
 * The names of `h=` and the fields they stand for, in that order. A verifier takes the fields of a
 * name from the bottom up (§5.4.2), so they are listed that way; the over-signed names get one more
 * entry than there are fields.
 */
function selectFields(fields: readonly HeaderField[]): { names: string[]; signed: HeaderField[] } {
  const names: string[] = [];
  const signed: HeaderField[] = [];
  const add = (name: string, extra: number): void => {
    const found = fields.filter((f) => f.name === name).reverse();
    signed.push(...found);
    for (let i = 0; i < found.length + extra; i++) names.push(name);
  };
  for (const name of OVERSIGNED_HEADERS) add(name, 1);
  for (const name of SIGNED_HEADERS) add(name, 0);
  return { names, signed };
}

/** Relaxed header canonicalization (§3.4.2): lower-case name, unfolded, runs of WSP as one space, none around the colon or at the end. */
function relaxedField(f: HeaderField): string {
  const value = fieldValue(f).replace(/\r\n/g, '').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
  return `${f.name}:${value}\r\n`;
}

/**
 * Relaxed body canonicalization (§3.4.4): no WSP at the end of a line, runs of WSP as one space,
 * no empty lines at the end, and a final CRLF unless the body is empty. Bytes are kept as they are
 * (latin1 maps each byte to one character and back).
 */
function relaxedBody(body: Buffer): Buffer {
  const text = body.toString('latin1');
  // Most bodies (quoted-printable or base64, as the composer writes them) have no tab, no run of
  // spaces and no space ending a line: for them only the empty lines at the end go.
  if (!/\t| {2}| \r\n| $/.test(text)) {
    let end = text.length;
    while (end >= 2 && text.charCodeAt(end - 2) === 13 && text.charCodeAt(end - 1) === 10) end -= 2;
    return end === 0 ? Buffer.alloc(0) : Buffer.concat([body.subarray(0, end), CRLF]);
  }
  // Line by line, with no pattern that looks ahead: `[ \t]+(?=\r\n|$)` over a long run of spaces
  // not ending a line backtracks at every position (quadratic; a 10 MB message could hold a render
  // thread for hours).
  const lines = text.split('\r\n').map((line) => {
    const collapsed = line.replace(/[ \t]+/g, ' ');
    return collapsed.endsWith(' ') ? collapsed.slice(0, -1) : collapsed;
  });
  let end = lines.length;
  while (end > 0 && lines[end - 1] === '') end--;
  return end === 0 ? Buffer.alloc(0) : Buffer.from(`${lines.slice(0, end).join('\r\n')}\r\n`, 'latin1');
}

/** The `h=` tag, folded between names (FWS is allowed after each colon, §3.5). */
function hTag(names: readonly string[]): string[] {
  const lines: string[] = [];
  let line = 'h=';
  names.forEach((name, i) => {
    const piece = i < names.length - 1 ? `${name}:` : `${name};`;
    if (line.length + piece.length > FOLD_AT - 1 && line !== 'h=') {
      lines.push(line);
      line = '';
    }
    line += piece;
  });
  lines.push(line);
  return lines;
}

/** The field `DKIM-Signature: ` with its tag lines, each continuation line folded with a space. */
function signatureField(lines: readonly string[]): string {
  return `DKIM-Signature: ${lines.join('\r\n ')}`;
}

/** A base64 value broken into folded lines (whitespace in b= is ignored by verifiers, §3.5). */
function fold(value: string): string {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 72) parts.push(value.slice(i, i + 72));
  return parts.join('\r\n ');
}
