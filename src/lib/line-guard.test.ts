import { describe, expect, it } from 'vitest';
import { LineGuard } from './line-guard.js';

const verdict = (...chunks: string[]): boolean => {
  const g = new LineGuard();
  for (const c of chunks) g.feed(Buffer.from(c, 'latin1'));
  return g.ok;
};

describe('LineGuard', () => {
  it('passes CRLF-only streams, however they are cut', () => {
    expect(verdict('EHLO a\r\nMAIL FROM:<a@b.c>\r\n')).toBe(true);
    expect(verdict('DATA\r', '\n', 'x\r\n.\r', '\n')).toBe(true);
    expect(verdict('', 'a\r\n', '')).toBe(true);
  });
  it.each([
    ['a lone LF', ['a\nb\r\n']],
    ['a lone CR', ['a\rb\r\n']],
    ['\\n.\\n', ['x\r\n\n.\nMAIL FROM:<e@v.il>\r\n']],
    ['\\r.\\r', ['x\r\n\r.\rMAIL FROM:<e@v.il>\r\n']],
    ['\\r\\n.\\n', ['x\r\n.\nMAIL FROM:<e@v.il>\r\n']],
    ['\\n.\\r\\n', ['x\n.\r\nMAIL FROM:<e@v.il>\r\n']],
    ['a CR ending one chunk, no LF starting the next', ['x\r', 'y\r\n']],
    ['an LF starting a chunk after a clean one', ['x\r\n', '\ny']],
  ])('refuses %s, and stays refused', (_, chunks) => {
    const g = new LineGuard();
    for (const c of chunks) g.feed(Buffer.from(c, 'latin1'));
    expect(g.ok).toBe(false);
    expect(g.feed(Buffer.from('clean\r\n'))).toBe(false);
  });
});
