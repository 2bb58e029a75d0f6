/** Tencent's reputation rules (FACTS §6.3) at every boundary, and which refusals are spam bounces. */
import { describe, expect, it } from 'vitest';
import { isSpamRefusal } from './bounce.js';
import { MAX_REPUTATION_LEVEL } from './reputation.js';
import {
  REPUTATION_RULES, reputationAfterDay, reputationDuringDay, reputationRates, type ReputationCounters,
} from './reputation-rules.js';

/** A day of `sent` mails, all delivered and nothing else, with `over` replacing some counters. */
function day(sent: number, over: Partial<ReputationCounters> = {}): ReputationCounters {
  return { sent, delivered: sent, bounced: 0, hardBounced: 0, spamBounced: 0, complained: 0, opened: 0, ...over };
}

describe('REPUTATION_RULES', () => {
  it('holds the figures of FACTS §6.3', () => {
    expect(REPUTATION_RULES.raise.sentAtLeastPercentOfLimit).toBe(70);
    expect(REPUTATION_RULES.raise.anyOf.map((r) => r.allOf.map((b) => `${b.rate}${b.op}${b.percent}`))).toEqual([
      ['invalidAddress<5', 'deliverability>92', 'spamBounce<2.5', 'complaint<0.1'],
      ['deliverability>90', 'complaint<0.1', 'open>50'],
    ]);
    expect(REPUTATION_RULES.lower.sentAbove).toBe(300);
    expect(REPUTATION_RULES.lower.anyOf.map((b) => `${b.rate}${b.op}${b.percent}`)).toEqual(['invalidAddress>9', 'deliverability<65', 'spamBounce>5', 'complaint>0.5']);
    expect(REPUTATION_RULES.block.sentAbove).toBe(300);
    expect(REPUTATION_RULES.block.anyOf.map((b) => `${b.rate}${b.op}${b.percent}`)).toEqual(['invalidAddress>11', 'spamBounce>15']);
  });
});

describe('raise, on today\'s running counters', () => {
  // Level 5: a limit of 10,000, so 70 % is 7,000 mails and 0.1 % is 10.
  const level = 5;

  it('needs 70 % of the current level\'s limit', () => {
    expect(reputationDuringDay(level, day(6_999))).toEqual({ kind: 'keep' });
    expect(reputationDuringDay(level, day(7_000))).toMatchObject({ kind: 'raise', to: 6 });
    // Level 1: 70 % of 500 is 350.
    expect(reputationDuringDay(1, day(349))).toEqual({ kind: 'keep' });
    expect(reputationDuringDay(1, day(350))).toMatchObject({ kind: 'raise', to: 2 });
  });

  // Each bound of the first alternative, at the threshold (fails: the doc's comparisons are strict)
  // and one mail to the good side of it (passes). Opens stay at 0, so the second alternative never helps.
  const clean: [string, Partial<ReputationCounters>, Partial<ReputationCounters>][] = [
    ['invalid-address rate < 5 %', { hardBounced: 500 }, { hardBounced: 499 }],
    ['deliverability > 92 %', { delivered: 9_200 }, { delivered: 9_201 }],
    ['spam-bounce rate < 2.5 %', { spamBounced: 250 }, { spamBounced: 249 }],
    ['complaint rate < 0.1 %', { complained: 10 }, { complained: 9 }],
  ];
  for (const [rule, at, inside] of clean) {
    it(`first alternative: ${rule}`, () => {
      expect(reputationDuringDay(level, day(10_000, at))).toEqual({ kind: 'keep' });
      const d = reputationDuringDay(level, day(10_000, inside));
      expect(d).toMatchObject({ kind: 'raise', to: 6 });
      expect(d.kind === 'raise' && d.reason).toContain('clean sending');
    });
  }

  // The second alternative alone: 6 % invalid addresses rule the first one out.
  const engaged = { hardBounced: 600, delivered: 9_001, opened: 5_001 };
  const engagedBounds: [string, Partial<ReputationCounters>, Partial<ReputationCounters>][] = [
    ['deliverability > 90 %', { delivered: 9_000 }, { delivered: 9_001 }],
    ['complaint rate < 0.1 %', { complained: 10 }, { complained: 9 }],
    ['open rate > 50 %', { opened: 5_000 }, { opened: 5_001 }],
  ];
  for (const [rule, at, inside] of engagedBounds) {
    it(`second alternative: ${rule}`, () => {
      expect(reputationDuringDay(level, day(10_000, { ...engaged, ...at }))).toEqual({ kind: 'keep' });
      const d = reputationDuringDay(level, day(10_000, { ...engaged, ...inside }));
      expect(d).toMatchObject({ kind: 'raise', to: 6 });
      expect(d.kind === 'raise' && d.reason).toContain('engaged readers');
    });
  }

  it('says why, with the figures', () => {
    const d = reputationDuringDay(level, day(10_000, { delivered: 9_500, hardBounced: 100, spamBounced: 50, complained: 5 }));
    expect(d).toEqual({
      kind: 'raise',
      to: 6,
      reason: '10000 sent ≥ 70 % of level 5\'s daily limit of 10000, clean sending: invalid-address rate 1.0 % < 5 %, '
        + 'deliverability 95.0 % > 92 %, spam-bounce rate 0.50 % < 2.5 %, complaint rate 0.05 % < 0.1 %',
    });
  });

  it('climbs several levels a day, each judged against the level reached', () => {
    const today = day(800);
    let current = 1;
    for (let d = reputationDuringDay(current, today); d.kind === 'raise'; d = reputationDuringDay(current, today)) current = d.to;
    // 800 ≥ 350 (level 1) and ≥ 700 (level 2), but < 1,400 (level 3).
    expect(current).toBe(3);
  });

  it('stops at level 20', () => {
    expect(MAX_REPUTATION_LEVEL).toBe(20);
    expect(reputationDuringDay(19, day(700_000))).toMatchObject({ kind: 'raise', to: 20 });
    expect(reputationDuringDay(20, day(1_000_000))).toEqual({ kind: 'keep' });
  });
});

describe('block for the rest of the day', () => {
  it('on invalid addresses > 11 % or spam bounces > 15 %, one mail either side', () => {
    expect(reputationDuringDay(1, day(1_000, { hardBounced: 110, delivered: 890 }))).toMatchObject({ kind: 'keep' });
    expect(reputationDuringDay(1, day(1_000, { hardBounced: 111, delivered: 889 }))).toMatchObject({ kind: 'block' });
    expect(reputationDuringDay(1, day(1_000, { spamBounced: 150, delivered: 850 }))).toMatchObject({ kind: 'keep' });
    expect(reputationDuringDay(1, day(1_000, { spamBounced: 151, delivered: 849 }))).toMatchObject({ kind: 'block' });
  });

  it('only past 300 sent', () => {
    expect(reputationDuringDay(1, day(300, { hardBounced: 300, spamBounced: 300, delivered: 0 }))).toEqual({ kind: 'keep' });
    expect(reputationDuringDay(1, day(301, { hardBounced: 34, delivered: 267 }))).toMatchObject({ kind: 'block' });
  });

  it('says why, with the figures', () => {
    expect(reputationDuringDay(3, day(500, { hardBounced: 60, delivered: 440 }))).toEqual({
      kind: 'block', reason: 'invalid-address rate 12.0 % > 11 % with 500 sent',
    });
    expect(reputationDuringDay(3, day(500, { hardBounced: 60, spamBounced: 80, delivered: 360 }))).toEqual({
      kind: 'block', reason: 'invalid-address rate 12.0 % > 11 %; spam-bounce rate 16.0 % > 15 % with 500 sent',
    });
  });

  it('wins over a raise', () => {
    // Counters that meet the second raise alternative and a block rule at once (possible only if
    // the counters disagree with each other; the order must still be defined).
    const both = day(1_000, { delivered: 950, opened: 600, hardBounced: 120 });
    expect(reputationDuringDay(1, both)).toMatchObject({ kind: 'block' });
    expect(reputationDuringDay(MAX_REPUTATION_LEVEL, both)).toMatchObject({ kind: 'block' });
  });
});

describe('lower, on a finished day\'s counters', () => {
  const bad: [string, Partial<ReputationCounters>, Partial<ReputationCounters>][] = [
    ['invalid-address rate > 9 %', { hardBounced: 90 }, { hardBounced: 91 }],
    ['deliverability < 65 %', { delivered: 650 }, { delivered: 649 }],
    ['spam-bounce rate > 5 %', { spamBounced: 50 }, { spamBounced: 51 }],
    ['complaint rate > 0.5 %', { complained: 5 }, { complained: 6 }],
  ];
  for (const [rule, at, beyond] of bad) {
    it(`by one level on ${rule}`, () => {
      expect(reputationAfterDay(5, day(1_000, at))).toEqual({ kind: 'keep' });
      expect(reputationAfterDay(5, day(1_000, beyond))).toMatchObject({ kind: 'lower', to: 4 });
    });
  }

  it('only past 300 sent', () => {
    const awful = { delivered: 0, hardBounced: 300, spamBounced: 300, complained: 300 };
    expect(reputationAfterDay(5, day(300, awful))).toEqual({ kind: 'keep' });
    expect(reputationAfterDay(5, day(301, awful))).toMatchObject({ kind: 'lower', to: 4 });
  });

  it('never below level 1', () => {
    expect(reputationAfterDay(2, day(1_000, { delivered: 100 }))).toMatchObject({ kind: 'lower', to: 1 });
    expect(reputationAfterDay(1, day(1_000, { delivered: 100 }))).toEqual({ kind: 'keep' });
  });

  it('says why, with the figures, and never rounds a figure onto its bound', () => {
    expect(reputationAfterDay(7, day(10_000, { delivered: 6_499 }))).toEqual({
      kind: 'lower', to: 6, reason: 'deliverability 64.99 % < 65 % with 10000 sent',
    });
    expect(reputationAfterDay(7, day(1_000, { hardBounced: 95, complained: 6, delivered: 905 }))).toEqual({
      kind: 'lower', to: 6, reason: 'invalid-address rate 9.5 % > 9 %; complaint rate 0.60 % > 0.5 % with 1000 sent',
    });
  });

  it('is not moved by what only raises or blocks', () => {
    // A day good enough to raise lowers nothing, and a raise is never decided after the day.
    expect(reputationAfterDay(5, day(10_000))).toEqual({ kind: 'keep' });
  });
});

describe('a day with nothing sent', () => {
  it('keeps the level, and every rate is 0', () => {
    expect(reputationDuringDay(1, day(0))).toEqual({ kind: 'keep' });
    expect(reputationAfterDay(5, day(0))).toEqual({ kind: 'keep' });
    expect(reputationRates(day(0))).toEqual({ invalidAddress: 0, deliverability: 0, spamBounce: 0, complaint: 0, open: 0 });
  });

  it('rates are shares of sent, in percent', () => {
    expect(reputationRates(day(200, { delivered: 150, hardBounced: 10, spamBounced: 4, complained: 1, opened: 80 }))).toEqual({
      invalidAddress: 5, deliverability: 75, spamBounce: 2, complaint: 0.5, open: 40,
    });
  });
});

describe('isSpamRefusal', () => {
  it('knows refusals that blame the content or the sender', () => {
    for (const reply of [
      '550 5.7.1 Message rejected as spam',
      '554 5.7.0 Message rejected as spam by Content Filtering.',
      '550-5.7.1 [203.0.113.5] Our system has detected that this message is likely unsolicited mail.',
      '554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org',
      '550 5.7.1 Client host rejected: listed at zen.spamhaus.org',
      '554 Client host rejected: listed on b.barracudacentral.org',
      '550 5.7.606 Access denied, banned sending IP [203.0.113.5]',
      '550 5.7.0 Message rejected due to poor sender reputation',
      '550 5.7.26 Unauthenticated email from example.com is not accepted due to domain\'s DMARC policy',
      '550 Mail content denied. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000726',
      '554 DT:SPM 163 smtp10,DsCowACXKqeSxgVl_Ym_AQ--.2931S2 1694877331',
      '554 Your IP is blacklisted',
      '5.7.1 Blocked by policy',
    ]) expect(isSpamRefusal(reply), reply).toBe(true);
  });

  it('does not take address, mailbox, relay or transient refusals for spam', () => {
    for (const reply of [
      '550 5.1.1 <spam@example.com>: user unknown',
      '550 5.1.1 Recipient rejected by policy: user unknown',
      '550 <policy@example.com>: Recipient address rejected: User unknown in local recipient table',
      '550 No such user here',
      '552 5.2.2 Mailbox full',
      '554 5.7.1 <x@example.com>: Relay access denied',
      '421 4.7.0 Try again later, closing connection (spam suspected)',
      '450 4.7.1 Client host rejected: cannot find your hostname, listed at dnsbl.example',
      '4.7.1 Blocked temporarily',
      '',
    ]) expect(isSpamRefusal(reply), reply).toBe(false);
  });

  it('answers a hostile megabyte in linear time', () => {
    const MB = 1_000_000;
    for (const reply of [
      `550 ${' '.repeat(MB)}x`, `550 5.7.1 ${'block'.repeat(MB / 5)}`, '@'.repeat(MB), `5.7.1 ${'listed '.repeat(MB / 7)}`,
      `550 ${'a'.repeat(MB)}`, `${'5.'.repeat(MB / 2)}`, `550 ${'polic'.repeat(MB / 5)}`,
    ]) {
      const start = performance.now();
      isSpamRefusal(reply);
      expect(performance.now() - start).toBeLessThan(1_000);
    }
  });
});
