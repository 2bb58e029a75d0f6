/** Strict base64 decoding: Node's decoder silently skips bad characters, which would hide errors. */

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes standard base64 (padding optional); null when it is not valid base64. */
export function decodeBase64(s: string): Buffer | null {
  if (!BASE64.test(s)) return null;
  // `=+$` alone backtracks quadratically over a long run of `=`; BASE64 above has already
  // admitted at most two, at the end, so this sees at most two.
  const unpadded = s.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return null;
  if (s.includes('=') && s.length % 4 !== 0) return null;
  return Buffer.from(unpadded, 'base64');
}

/** Decodes base64 that must carry valid UTF-8 text; null otherwise. */
export function decodeBase64Utf8(s: string): { text: string; bytes: number } | null {
  const buf = decodeBase64(s);
  if (buf === null) return null;
  try {
    return { text: utf8.decode(buf), bytes: buf.length };
  } catch {
    return null;
  }
}
