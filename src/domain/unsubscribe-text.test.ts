import { describe, expect, it } from 'vitest';
import { UNSUBSCRIBE_WORDS, unsubscribeWords } from './unsubscribe-text.js';

describe('unsubscribe words', () => {
  it('has every text in each of the 11 languages', () => {
    expect(Object.keys(UNSUBSCRIBE_WORDS)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11']);
    for (const w of Object.values(UNSUBSCRIBE_WORDS)) {
      for (const text of [w.lang, w.link, w.question, w.button, w.done, w.invalid]) expect(text.trim().length, w.lang).toBeGreaterThan(0);
    }
    expect(new Set(Object.values(UNSUBSCRIBE_WORDS).map((w) => w.lang)).size).toBe(11);
  });

  it('falls back to English for anything that is not a language number, inherited names included', () => {
    expect(unsubscribeWords('6').lang).toBe('de');
    for (const l of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '', '0', '12', '01', '1.0', ' 1', 'x'.repeat(100_000), null, undefined]) {
      expect(unsubscribeWords(l), String(l).slice(0, 20)).toBe(UNSUBSCRIBE_WORDS[1]);
    }
  });
});
