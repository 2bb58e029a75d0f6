import { describe, expect, it } from 'vitest';
import { prepareSubmitted } from './submitted.js';

const now = new Date('2026-11-26T08:00:00Z');
const prep = (s: string) => prepareSubmitted(Buffer.from(s, 'latin1'), now);

describe('prepareSubmitted', () => {
  it('removes Bcc fields with their folded lines, keeps everything else byte for byte', () => {
    const r = prep('From: "Shop, Inc." <News@Mail.Shop.test>\r\nBcc: a@x.test,\r\n b@x.test\r\nTo: c@x.test\r\nMessage-ID: <1@x>\r\nDate: Thu, 26 Nov 2026 08:00:00 +0000\r\n\r\nBcc: not a header\r\n');
    expect(r.ok && r.raw.toString('latin1')).toBe('From: "Shop, Inc." <News@Mail.Shop.test>\r\nTo: c@x.test\r\nMessage-ID: <1@x>\r\nDate: Thu, 26 Nov 2026 08:00:00 +0000\r\n\r\nBcc: not a header\r\n');
    expect(r.ok && r.from.address).toBe('news@mail.shop.test');
    expect(r.ok && r.messageIdHeader).toBe('<1@x>');
  });
  it('adds Message-ID and Date when missing', () => {
    const r = prep('From: a@mail.shop.test\r\nSubject: s\r\n\r\nbody\r\n');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.raw.toString()).toMatch(/^Message-ID: <[^>]+@mail\.shop\.test>\r\nDate: Thu, 26 Nov 2026 08:00:00 \+0000\r\nFrom: a@mail\.shop\.test\r\n/);
    expect(r.raw.toString()).toMatch(/^Message-ID: (<[^>]+>)/);
    expect(r.raw.toString()).toContain(r.messageIdHeader);
  });
  it.each([
    ['no From', 'To: a@x.test\r\n\r\nx\r\n', /no From/],
    ['two From fields', 'From: a@x.test\r\nFrom: b@x.test\r\n\r\nx\r\n', /more than one From/],
    ['two mailboxes in From', 'From: a@x.test, b@x.test\r\n\r\nx\r\n', /exactly one/],
    ['a line that is no field', 'From: a@x.test\r\nnot a field\r\n\r\nx\r\n', /not a field/],
    ['a folded first line', ' From: a@x.test\r\n\r\nx\r\n', /folded/],
    ['no header at all', '\r\nbody\r\n', /no From/],
  ])('refuses %s', (_, text, reason) => {
    const r = prep(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('reads a header line of blanks in linear time', () => {
    // A field name followed by a long run of blanks and more text: `/[ \t]+$/` took time quadratic
    // in the run (50,000 blanks: about 3 s, 100,000 about 11 s). Lines are as long as
    // SESAME_SMTP_MAX_LINE_LENGTH allows, which has no upper bound.
    const line = `X${' \t'.repeat(50_000)}Y: v`;
    const start = performance.now();
    const r = prep(`From: a@mail.shop.test\r\n${line}\r\n\r\nbody\r\n`);
    // A second is room for a loaded machine; the linear scan takes about a millisecond.
    expect(performance.now() - start).toBeLessThan(1_000);
    expect(r.ok).toBe(false);
    expect(prep(`From: a@mail.shop.test\r\nSubject \t : s\r\n\r\nbody\r\n`).ok).toBe(true);
  });

  it('refuses a From field longer than one mailbox needs, before the address parser reads it', () => {
    // Folded over many lines, a From can be as large as the message.
    const fold = (value: string): string => value.match(/.{1,900}/g)!.join('\r\n ');
    // More than the 4,096 characters (FROM_VALUE_MAX) a From may hold.
    const name = 'n'.repeat(5000);
    const r = prep(`From: ${fold(name)} <a@mail.shop.test>\r\n\r\nbody\r\n`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/longer than/);
    const huge = `From: ${fold(`a@b ${' .c'.repeat(3_000_000)}`)}\r\n\r\nbody\r\n`;
    const start = performance.now();
    expect(prep(huge).ok).toBe(false);
    // Joining and decoding 9 MB is linear; nodemailer's parser took seconds over it.
    expect(performance.now() - start).toBeLessThan(1000);
    const long = `From: ${fold(`${'m'.repeat(2000)} <a@mail.shop.test>`)}\r\n\r\nbody\r\n`;
    expect(prep(long).ok).toBe(true);
  });
});
