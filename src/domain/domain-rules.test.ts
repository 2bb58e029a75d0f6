/** Pure rules: addresses, domain names, DNS record comparison, the reputation table. */
import { describe, expect, it } from 'vitest';
import { condemnsRecipient, enhancedStatus } from './bounce.js';
import { normalizeDomain, parseAddress } from './address.js';
import { attachmentType } from './attachment.js';
import { expectedRecords, matchDkim, matchDmarc, matchMx, matchSpf, parseTags } from './dns-records.js';
import { dailyLimitOfLevel } from './reputation.js';
import { isAcceptableSmtpPassword } from './smtp-password.js';

describe('names and addresses', () => {
  it('normalises domains', () => {
    expect(normalizeDomain(' Mail.Example.COM. ')).toBe('mail.example.com');
    expect(normalizeDomain('bücher.example')).toBe('xn--bcher-kva.example');
    for (const bad of ['example', 'ex ample.com', '-a.com', 'a-.com', 'a..com', '1.2.3.4', `${'a'.repeat(64)}.com`, 'a_b.com']) {
      expect(normalizeDomain(bad), bad).toBeNull();
    }
  });

  it('parses addresses into lower case', () => {
    expect(parseAddress('John.Doe+tag@Example.COM')).toEqual({ local: 'john.doe+tag', domain: 'example.com', address: 'john.doe+tag@example.com' });
    for (const bad of ['a', '@x.com', 'a@', 'a@b', '.a@x.com', 'a.@x.com', 'a..b@x.com', '"q"@x.com', 'a b@x.com', 'a@x.com\r\nBcc: y@z.com']) {
      expect(parseAddress(bad), bad).toBeNull();
    }
  });

  it('knows attachment types by their own names only', () => {
    expect(attachmentType('report.PDF')).toBe('application/pdf');
    // Names every object inherits are not file types (they once passed as one).
    for (const bad of ['a.constructor', 'a.__proto__', 'a.toString', 'a.hasOwnProperty', 'a.exe', 'noext', 'a b.pdf']) {
      expect(attachmentType(bad), bad).toBeNull();
    }
  });

  it('checks SMTP passwords', () => {
    expect(isAcceptableSmtpPassword('Abcdefghi1')).toBe(true);
    expect(isAcceptableSmtpPassword('Abcdefgh1')).toBe(false);
    expect(isAcceptableSmtpPassword('Abcdefghijklmnopqr12')).toBe(true);
    expect(isAcceptableSmtpPassword('Abcdefghijklmnopqr123')).toBe(false);
    expect(isAcceptableSmtpPassword('Ünicode12345a')).toBe(false);
  });
});

describe('DNS records', () => {
  const policy = { bounceDomain: 'bounce.mail.test', mxHost: 'mx.sesame.test', spf: { include: 'spf.sesame.test', ips: ['192.0.2.7', '2001:db8::1'], hostname: 'h.test' } };
  const key = { algorithm: 'rsa' as const, selector: 's1', publicKey: 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA' };

  it('lists the records to publish', () => {
    const r = expectedRecords('mail.test', [key], policy);
    expect(r.map((x) => [x.kind, x.name, x.value])).toEqual([
      ['DKIM', 's1._domainkey.mail.test', `v=DKIM1; k=rsa; p=${key.publicKey}`],
      ['SPF', 'bounce.mail.test', 'v=spf1 ip4:192.0.2.7 ip6:2001:db8::1 include:spf.sesame.test ~all'],
      ['MX', 'bounce.mail.test', 'mx.sesame.test'],
      ['DMARC', '_dmarc.mail.test', 'v=DMARC1; p=none'],
    ]);
  });

  it('reads tag lists like RFC 6376', () => {
    expect([...parseTags(' v = DKIM1 ;k=rsa; p= AB CD ;; ')!]).toEqual([['v', 'DKIM1'], ['k', 'rsa'], ['p', 'AB CD']]);
    expect(parseTags('p=A; p=B')).toBeNull();
    expect(parseTags('v=DKIM1; junk; p=A')).toBeNull();
  });

  it('matches DKIM keys, not bytes', () => {
    expect(matchDkim(key, [`p=${key.publicKey.slice(0, 10)} ${key.publicKey.slice(10)}`]).ok).toBe(true);
    expect(matchDkim(key, [`v=DKIM1; k=ed25519; p=${key.publicKey}`]).ok).toBe(false);
    expect(matchDkim(key, [`v=DKIM2; p=${key.publicKey}`]).ok).toBe(false);
    expect(matchDkim(key, ['v=DKIM1; p=OTHER', `v=DKIM1; p=${key.publicKey}`])).toEqual({ ok: true, current: `v=DKIM1; p=${key.publicKey}` });
    expect(matchDkim(key, ['unrelated'])).toEqual({ ok: false, current: 'unrelated' });
    // Records receivers would reject or not use for Sesame's rsa-sha256 mail signatures.
    for (const bad of [`p=${key.publicKey}; p=${key.publicKey}`, `k=rsa; v=DKIM1; p=${key.publicKey}`,
      `v=DKIM1; h=sha1; p=${key.publicKey}`, `v=DKIM1; s=other; p=${key.publicKey}`]) {
      expect(matchDkim(key, [bad]).ok, bad).toBe(false);
    }
    expect(matchDkim(key, [`v=DKIM1; h=sha1:sha256; s=*; p=${key.publicKey}`]).ok).toBe(true);
  });

  it('matches SPF by mechanism', () => {
    const need = 'v=spf1 ip4:192.0.2.7 ip6:2001:db8::1 include:spf.sesame.test';
    expect(matchSpf(policy.spf, [`${need} -all`]).ok).toBe(true);
    expect(matchSpf(policy.spf, ['v=spf1 +include:SPF.sesame.test mx ip6:2001:db8::1 ip4:192.0.2.7 ~all']).ok).toBe(true);
    expect(matchSpf(policy.spf, ['v=spf1 include:spf.sesame.test ~all']).ok).toBe(false);
    expect(matchSpf(policy.spf, [`${need} ~all`, 'v=spf1 -all']).ok).toBe(false);
    expect(matchSpf(policy.spf, ['v=spf10 x']).ok).toBe(false);
    expect(matchSpf({ ips: [], hostname: 'h.test' }, ['v=spf1 a:h.test ~all']).ok).toBe(true);
    // Evaluated as receivers do: nothing after `all` counts, failing qualifiers do not pass.
    expect(matchSpf({ ips: [], hostname: 'h.test' }, ['v=spf1 -all a:h.test']).ok).toBe(false);
    expect(matchSpf({ ips: [], hostname: 'h.test' }, ['v=spf1 ~a:h.test -all']).ok).toBe(false);
    expect(matchSpf({ ips: [], hostname: 'h.test' }, [' v=spf1 a:h.test -all']).ok).toBe(false);
    // Networks, other spellings of the same address, and trailing dots all cover.
    const covered = 'v=spf1 ip4:192.0.2.0/24 ip6:2001:0db8:0:0::1/128 include:spf.sesame.test. -all';
    expect(matchSpf(policy.spf, [covered]).ok).toBe(true);
    expect(matchSpf(policy.spf, ['v=spf1 ip4:192.0.3.0/24 ip6:2001:db8::1 include:spf.sesame.test -all']).ok).toBe(false);
  });

  it('matches MX and DMARC', () => {
    expect(matchMx('mx.sesame.test', ['other.test', 'MX.Sesame.Test.']).ok).toBe(true);
    expect(matchMx('mx.sesame.test', ['other.test']).ok).toBe(false);
    expect(matchDmarc(['v=DMARC1; p=reject; rua=mailto:x@y.test']).ok).toBe(true);
    expect(matchDmarc(['v=DMARC1; rua=mailto:x@y.test']).ok).toBe(false);
    expect(matchDmarc(['v=DMARC1; p=none', 'v=DMARC1; p=reject']).ok).toBe(false);
    expect(matchDmarc(['v=DMARC1x; p=none']).ok).toBe(false);
  });
});

describe('reputation', () => {
  it('follows Tencent\'s table', () => {
    expect([1, 2, 4, 10, 13, 20].map(dailyLimitOfLevel)).toEqual([500, 1000, 5000, 100000, 300000, 1000000]);
    expect(dailyLimitOfLevel(25)).toBe(1_000_000);
  });
});

describe('which refusals blocklist the recipient', () => {
  it('bad mailbox or domain at RCPT, or from DNS: yes; policy, content, sender, size: no', () => {
    expect(enhancedStatus('550 5.1.1 <x@y>: user unknown')).toEqual({ klass: 5, subject: 1, detail: 1 });
    expect(enhancedStatus('550 user unknown')).toBeNull();
    expect(condemnsRecipient('rcpt', 550, '550 5.1.1 The email account that you tried to reach does not exist')).toBe(true);
    expect(condemnsRecipient('rcpt', 550, '5.1.1 User unknown')).toBe(true);
    expect(condemnsRecipient('rcpt', 550, '550 5.2.1 The email account is disabled')).toBe(true);
    expect(condemnsRecipient('rcpt', 550, '550 5.1.0 Address rejected')).toBe(true);
    expect(condemnsRecipient('rcpt', 550, '550 No such user here')).toBe(true);
    expect(condemnsRecipient('route', 550, '550 5.1.2 The domain x.test does not exist')).toBe(true);
    expect(condemnsRecipient('route', 556, '556 5.1.10 x.test accepts no mail (null MX, RFC 7505)')).toBe(true);
    expect(condemnsRecipient('rcpt', 550, '550 5.7.1 Client host rejected: listed at zen.spamhaus.org')).toBe(false);
    expect(condemnsRecipient('rcpt', 554, '554 Relay access denied')).toBe(false);
    expect(condemnsRecipient('rcpt', 552, '552 5.2.2 Mailbox full')).toBe(false);
    expect(condemnsRecipient('data', 550, '550 5.1.1 User unknown')).toBe(false);
    expect(condemnsRecipient('mail', 553, '553 5.1.8 Sender address rejected')).toBe(false);
    expect(condemnsRecipient('mail', 552, '552 5.3.4 Message size exceeds fixed limit')).toBe(false);
  });
});
