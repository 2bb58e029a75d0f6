/**
 * mailauth turns the PEM private key into a key object on every signature (crypto.createPrivateKey),
 * which costs more than the RSA signature itself. Sesame signs with a handful of keys over and
 * over, so in the threads that sign, that call is memoised by its PEM text. Inputs other than a PEM
 * string or buffer go through untouched.
 */
import crypto, { type KeyObject } from 'node:crypto';

const MAX_KEYS = 1000;
let installed = false;

/** Makes crypto.createPrivateKey reuse the key object of a PEM it has seen (idempotent). */
export function installPrivateKeyCache(): void {
  if (installed) return;
  installed = true;
  const original = crypto.createPrivateKey;
  const cache = new Map<string, KeyObject>();
  const cached = (key: Parameters<typeof original>[0]): KeyObject => {
    const opts = key as { key?: unknown; format?: unknown; passphrase?: unknown };
    const pem = typeof key === 'string' ? key
      : opts && opts.format === 'pem' && opts.passphrase === undefined && (typeof opts.key === 'string' || Buffer.isBuffer(opts.key)) ? String(opts.key) : null;
    if (pem === null) return original(key);
    let k = cache.get(pem);
    if (!k) {
      k = original(key);
      if (cache.size >= MAX_KEYS) cache.clear();
      cache.set(pem, k);
    }
    return k;
  };
  // mailauth reaches createPrivateKey through the shared module object, so that is where it is replaced.
  (crypto as { createPrivateKey: typeof original }).createPrivateKey = cached as typeof original;
}
