/**
 * The v1 signature, HmacSHA1 or HmacSHA256 (FACTS §1.5): every parameter but Signature, sorted by
 * name, joined with raw (decoded) values, after `METHOD + host + /?`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** True when `signature` matches for one of the host spellings. Compared in constant time. */
export function verifyV1(
  params: ReadonlyMap<string, string>,
  signature: Buffer,
  secretKey: string,
  method: string,
  hostCandidates: readonly string[],
): boolean {
  const algorithm = params.get('SignatureMethod') === 'HmacSHA256' ? 'sha256' : 'sha1';
  const pairs = [...params.keys()]
    .filter((k) => k !== 'Signature')
    .sort()
    .map((k) => `${k}=${params.get(k)}`)
    .join('&');
  for (const host of hostCandidates) {
    const expected = createHmac(algorithm, secretKey).update(`${method}${host}/?${pairs}`, 'utf8').digest();
    if (expected.length === signature.length && timingSafeEqual(expected, signature)) return true;
  }
  return false;
}
