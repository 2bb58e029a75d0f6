import { describe, expect, it } from 'vitest';
import { TRANSPARENT_GIF } from './pixel.js';

describe('the open pixel', () => {
  it('is a 43-byte GIF89a of one transparent pixel', () => {
    const g = TRANSPARENT_GIF;
    expect(g.length).toBe(43);
    expect(g.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect([g.readUInt16LE(6), g.readUInt16LE(8)]).toEqual([1, 1]);
    // Graphic control extension with the transparency flag, naming colour 0; the one pixel is colour 0.
    expect([...g.subarray(19, 23)]).toEqual([0x21, 0xf9, 0x04, 0x01]);
    expect(g[25]).toBe(0);
    expect(g[27]).toBe(0x2c);
    expect([g.readUInt16LE(32), g.readUInt16LE(34)]).toEqual([1, 1]);
    expect(g[g.length - 1]).toBe(0x3b);
  });
});
