/**
 * The pure rules that read caller-controlled text, timed on the inputs that hurt patterns most: a
 * long run a quantifier takes and then has to give back. A pattern that backtracks over every split
 * of such a run takes time quadratic in it; a megabyte then holds the event loop for minutes, and
 * every tenant waits. Each rule here must answer a megabyte within a second (in milliseconds, unloaded).
 */
import { describe, expect, it } from 'vitest';
import { normalizeDomain, parseAddress, parseMailbox } from './address.js';
import { decodeBase64 } from './base64.js';
import { enhancedStatus } from './bounce.js';
import { matchDkim, matchDmarc, matchSpf } from './dns-records.js';
import { isMessageIdHeader } from './message-id.js';
import { isAllowedCustomHeader, isSafeHeaderValue } from './smtp-headers.js';
import { findVariables, renderTemplate } from './template.js';

const MB = 1_000_000;
/** Room for a loaded machine running test files in parallel; a quadratic pattern takes seconds to minutes on these inputs. */
const BUDGET_MS = 1_000;

/** Milliseconds `fn` takes. */
function timed(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

describe('parseMailbox', () => {
  it('reads `Name <address>` by a scan, in linear time', () => {
    // The shape the old pattern `/^(.*?)\s*<([^<>]*)>$/` choked on: 20,000 spaces took about a
    // second, a million minutes. The smaller size comes first so that code with the quadratic
    // pattern fails here in seconds instead of hanging the run.
    for (const n of [50_000, MB]) {
      const input = `a${' '.repeat(n)}b`;
      let result: unknown;
      const ms = timed(() => { result = parseMailbox(input); });
      expect(result, `${n} spaces`).toBeNull();
      expect(ms, `${n} spaces`).toBeLessThan(BUDGET_MS);
    }
    const others = [
      `a${' '.repeat(MB)}<x@example.com>`,
      `${'<'.repeat(MB)}>`,
      `${'a <'.repeat(MB / 3)}x@example.com>`,
      `${'x'.repeat(MB)} <x@example.com>`,
      `<${' '.repeat(MB)}x@example.com>`,
      `${'>'.repeat(MB)}`,
    ];
    for (const input of others) {
      expect(timed(() => parseMailbox(input)), input.slice(0, 12)).toBeLessThan(BUDGET_MS);
    }
  });

  it('keeps the rules of FACTS §3.2', () => {
    const x = { local: 'x', domain: 'example.com', address: 'x@example.com' };
    expect(parseMailbox('X@Example.com')).toEqual({ name: '', address: x });
    expect(parseMailbox('Team <x@example.com>')).toEqual({ name: 'Team', address: x });
    expect(parseMailbox('  Team   Two\t<x@example.com> ')).toEqual({ name: 'Team   Two', address: x });
    expect(parseMailbox('Team<x@example.com>')).toEqual({ name: 'Team', address: x });
    expect(parseMailbox('Team\n<x@example.com>')).toEqual({ name: 'Team', address: x });
    expect(parseMailbox('<x@example.com>')).toEqual({ name: '', address: x });
    expect(parseMailbox('<  x@example.com  >')).toEqual({ name: '', address: x });
    expect(parseMailbox(`${'é'.repeat(128)} <x@example.com>`)?.name).toBe('é'.repeat(128));
    expect(parseMailbox(`${'😀'.repeat(128)} <x@example.com>`)?.name).toBe('😀'.repeat(128));
    for (const bad of [
      'a:b <x@example.com>', 'a"b <x@example.com>', 'a<b <x@example.com>', 'a>b <x@example.com>', 'a\rb <x@example.com>',
      'a\nb <x@example.com>', 'a\u2028b <x@example.com>', 'a\u2029b <x@example.com>', 'a\u0000b <x@example.com>',
      `${'é'.repeat(129)} <x@example.com>`, `${'😀'.repeat(129)} <x@example.com>`,
      'Team <x@example.com', 'Team x@example.com>', 'Team <x@example.com>>', 'Team <x>y@example.com>',
      'Team <<x@example.com>', 'Team <bad address@example.com>', 'Team <x@example.com> trailing', '', '<>',
    ]) {
      expect(parseMailbox(bad), JSON.stringify(bad)).toBeNull();
    }
  });
});

describe('other rules that read caller text', () => {
  const worst: [string, () => unknown][] = [
    ['parseAddress, a long local part', () => parseAddress(`${'a'.repeat(MB)}@example.com`)],
    ['parseAddress, many dots', () => parseAddress(`${'a.'.repeat(MB / 2)}@example.com`)],
    ['normalizeDomain, many dots', () => normalizeDomain(`${'a.'.repeat(MB / 2)}com`)],
    ['normalizeDomain, a trailing run', () => normalizeDomain(`${'.'.repeat(MB)}x`)],
    ['template variables, an unclosed {{ and blanks', () => findVariables(`{{${' '.repeat(MB)}`)],
    ['template variables, an unclosed long name', () => findVariables(`{{ ${'a'.repeat(MB)} `)],
    ['template variables, many unclosed', () => findVariables('{{ a '.repeat(MB / 5))],
    ['template variables, braces only', () => findVariables('{'.repeat(MB))],
    ['template rendering, unclosed names', () => renderTemplate('{{a'.repeat(MB / 3), { a: 'x' }, true)],
    ['Message-ID, @ everywhere', () => isMessageIdHeader(`<${'@'.repeat(MB)}>`)],
    ['base64, padding everywhere', () => decodeBase64(`${'='.repeat(MB)}A`)],
    ['base64, a megabyte', () => decodeBase64(`${'A'.repeat(MB)}==`)],
    ['header name', () => isAllowedCustomHeader(`X-${'a'.repeat(MB)}`)],
    ['header value', () => isSafeHeaderValue('a'.repeat(MB))],
    // Remote text: a reply of a receiving server, DNS records of a domain's owner.
    ['SMTP reply, blanks', () => enhancedStatus(`550${' '.repeat(MB)}x`)],
    ['SMTP reply, digits', () => enhancedStatus(`5.${'1'.repeat(MB)}`)],
    ['DKIM record, blanks', () => matchDkim({ algorithm: 'rsa', selector: 's', publicKey: 'AB' }, [`p=${' '.repeat(MB)}x`])],
    ['SPF record, blanks', () => matchSpf({ include: 'spf.test', ips: [], hostname: 'h.test' }, [`v=spf1${' '.repeat(MB)}x`])],
    ['DMARC record, blanks', () => matchDmarc([`v${' '.repeat(MB)}=${' '.repeat(MB)}x`])],
  ];
  it.each(worst)('%s: linear', (_, fn) => {
    expect(timed(fn)).toBeLessThan(BUDGET_MS);
  });
});
