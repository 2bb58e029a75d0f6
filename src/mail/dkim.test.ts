/**
 * The DKIM signer, checked by an independent implementation (mailauth's verifier and body hash):
 * signatures verify, over-signed headers cannot be added to, and the body hash agrees on awkward
 * bodies.
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { describe, expect, it } from 'vitest';
import { dkimSignatures, type DkimKey } from './dkim.js';

const DOMAIN = 'shop.test';

function keyPair(algorithm: 'rsa' | 'ed25519', selector: string): { key: DkimKey; record: string } {
  const { privateKey, publicKey } = algorithm === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 1024 })
    : generateKeyPairSync('ed25519');
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const p = (algorithm === 'rsa' ? der : der.subarray(-32)).toString('base64');
  return {
    key: { algorithm, selector, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    record: `v=DKIM1; k=${algorithm}; p=${p}`,
  };
}

const rsa = keyPair('rsa', 's1');
const ed = keyPair('ed25519', 's2');
const records = new Map([[`s1._domainkey.${DOMAIN}`, rsa.record], [`s2._domainkey.${DOMAIN}`, ed.record]]);
const resolver = async (name: string, rr: string): Promise<string[][]> => {
  const r = records.get(name);
  if (rr !== 'TXT' || !r) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return [[r]];
};

const signed = (message: string, keys: DkimKey[] = [rsa.key]): Buffer => {
  const m = Buffer.from(message, 'latin1');
  return Buffer.concat([dkimSignatures(m, DOMAIN, keys), m]);
};
const verdicts = async (m: Buffer | string): Promise<string[]> =>
  (await dkimVerify(m, { resolver: resolver as never })).results.map((r) => r.status.result);
const hTag = (m: Buffer): string[] => /\bh=([^;]+);/.exec(m.toString('latin1').replace(/\r\n[ \t]/g, ''))![1].split(':').map((h) => h.trim());
const count = (list: string[], name: string): number => list.filter((h) => h === name).length;

const MESSAGE = [
  'From: Shop <news@shop.test>',
  'To: ann@dest.test,',
  '  bob@dest.test',
  'Subject:   Spring   sale\t ',
  'Date: Thu, 26 Nov 2026 09:00:00 +0000',
  'Message-ID: <1@shop.test>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'X-Other: not signed',
  '',
  'Hello  there \t',
  '',
  'Bye',
  '',
  '',
].join('\r\n');

describe('DKIM signatures', () => {
  it('verify, RSA and Ed25519 alike, folded and oddly spaced headers included', async () => {
    const m = signed(MESSAGE, [rsa.key, ed.key]);
    expect(await verdicts(m)).toEqual(['pass', 'pass']);
    expect(m.toString('latin1').split('\r\n').every((l) => l.length <= 78)).toBe(true);
  });

  it('list each over-signed header once more than it occurs', () => {
    const h = hTag(signed(MESSAGE));
    expect(count(h, 'from')).toBe(2);
    expect(count(h, 'subject')).toBe(2);
    expect(count(h, 'to')).toBe(2);
    // Absent, so listed once: "there is none".
    expect(count(h, 'reply-to')).toBe(1);
    expect(count(h, 'cc')).toBe(1);
    expect(count(h, 'list-unsubscribe')).toBe(1);
    expect(count(h, 'x-other')).toBe(0);
    // Submitted mail may carry a header twice: both are signed, and a third is refused.
    const twoTo = hTag(signed(`To: a@dest.test\r\n${MESSAGE}`));
    expect(count(twoTo, 'to')).toBe(3);
    // Signed as present, not more: a list may add its own List-Id.
    const listed = hTag(signed(`List-Id: <news.shop.test>\r\n${MESSAGE}`));
    expect(count(listed, 'list-id')).toBe(1);
    expect(count(hTag(signed(MESSAGE)), 'list-id')).toBe(0);
    // Sender too (RFC 6376 §B.2.3: a list may add one).
    expect(count(hTag(signed(`Sender: team@shop.test\r\n${MESSAGE}`)), 'sender')).toBe(1);
    expect(count(hTag(signed(MESSAGE)), 'sender')).toBe(0);
  });

  it.each([
    ['a second From, prepended', (m: string) => `From: Bank <security@bank.test>\r\n${m}`],
    ['a second From, appended to the header', (m: string) => m.replace('\r\n\r\n', '\r\nFrom: Bank <security@bank.test>\r\n\r\n')],
    ['a Subject, prepended', (m: string) => `Subject: Your account is locked\r\n${m}`],
    ['a Reply-To where there was none', (m: string) => `Reply-To: thief@evil.test\r\n${m}`],
    ['a Cc where there was none', (m: string) => m.replace('\r\n\r\n', '\r\nCc: more@dest.test\r\n\r\n')],
    ['a List-Unsubscribe where there was none', (m: string) => `List-Unsubscribe: <https://evil.test/u>\r\n${m}`],
    ['a changed body', (m: string) => m.replace('Bye', 'Bye!')],
  ])('fail after %s', async (_, tamper) => {
    const m = signed(MESSAGE).toString('latin1');
    expect(await verdicts(m)).toEqual(['pass']);
    // `fail` (the header hash) or `neutral` (the body hash): not a pass, either way.
    expect(await verdicts(tamper(m))).not.toContain('pass');
  });

  it('survive what may change: a header that is not signed added, folding whitespace reflowed', async () => {
    const m = signed(MESSAGE).toString('latin1');
    expect(await verdicts(`Received: from a by b\r\n${m}`)).toEqual(['pass']);
    expect(await verdicts(m.replace('Subject:   Spring   sale', 'Subject: Spring\r\n sale'))).toEqual(['pass']);
  });

  it.each([
    ['an empty body', ''],
    ['a body of empty lines', '\r\n\r\n\r\n'],
    ['no final line break', 'last line'],
    ['clean lines, then empty ones', 'a=3D\r\nb c\r\n\r\n\r\n'],
    ['trailing spaces and tabs', 'a  \t\r\n\tb\t \r\n \r\n'],
    ['runs of whitespace inside lines', 'a \t  b\t\tc\r\n'],
    ['whitespace at the very end', 'a\r\n  \t'],
    ['8-bit bytes', 'caf\xe9 \xa0 na\xefve\r\n'],
  ])('hash %s as mailauth does', async (_, body) => {
    const message = Buffer.from(`From: a@shop.test\r\nSubject: x\r\n\r\n${body}`, 'latin1');
    const ours = /bh=([^;]+);/.exec(dkimSignatures(message, DOMAIN, [rsa.key]).toString('latin1'))![1];
    const theirs = await dkimSign(message, { canonicalization: 'relaxed/relaxed', signatureData: [{ signingDomain: DOMAIN, selector: 's1', privateKey: rsa.key.privateKeyPem }] } as never);
    expect(ours).toBe(/bh=([^;]+);/.exec(theirs.signatures)![1]);
    expect(await verdicts(Buffer.concat([dkimSignatures(message, DOMAIN, [rsa.key]), message]))).toEqual(['pass']);
  });

  it('takes time in proportion to the message, whatever its whitespace (no backtracking pattern)', () => {
    // A megabyte of blanks that do not end a line, in the body and in a folded header: a pattern
    // that looked ahead for the line's end took minutes on this.
    const blanks = ' \t'.repeat(512 * 1024);
    const message = Buffer.from(`From: a@shop.test\r\nX-Pad${blanks}z: v\r\nSubject: x${blanks}y\r\n${blanks}z\r\n\r\n${blanks}x\r\n${blanks}\r\n`, 'latin1');
    const started = performance.now();
    dkimSignatures(message, DOMAIN, [rsa.key]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('signs nothing without keys, and refuses a key of the wrong kind or none at all', () => {
    expect(dkimSignatures(Buffer.from(MESSAGE), DOMAIN, [])).toHaveLength(0);
    expect(() => dkimSignatures(Buffer.from(MESSAGE), DOMAIN, [{ ...ed.key, algorithm: 'rsa' }])).toThrow(/not an rsa key/);
    expect(() => dkimSignatures(Buffer.from(MESSAGE), DOMAIN, [{ ...rsa.key, privateKeyPem: 'not a key' }])).toThrow(/DKIM signing failed: the key of selector s1/);
  });
});
