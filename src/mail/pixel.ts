/**
 * The open pixel's image: a 1×1 GIF89a whose one pixel is transparent, 43 bytes. Served as
 * `image/gif` for every open URL, valid or not, so a client never shows a broken image.
 */

/** A transparent 1×1 GIF89a. */
export const TRANSPARENT_GIF: Buffer = Buffer.from([
  0x47, 0x49, 0x46, 0x38, 0x39, 0x61, // "GIF89a"
  0x01, 0x00, 0x01, 0x00, // logical screen 1×1
  0x80, 0x00, 0x00, // a global colour table of 2 entries; background 0; no aspect ratio
  0xff, 0xff, 0xff, 0x00, 0x00, 0x00, // colours 0 (white) and 1 (black)
  0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, // graphic control extension: colour 0 is transparent
  0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // image 1×1 at 0,0, no local table
  0x02, 0x02, 0x44, 0x01, 0x00, // LZW, code size 2: clear, pixel 0, end (one sub-block of 2 bytes)
  0x3b, // trailer
]);
