/**
 * DKIM private keys, parsed once per thread and kept: turning a PEM into a key object costs more
 * than the RSA signature itself, and Sesame signs with a handful of keys over and over. Each thread
 * that signs (the render threads, or the main thread when SESAME_RENDER_THREADS is 0) keeps its own;
 * nothing process-wide is changed.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';

/** Keys kept at most (a worker signing for more domains than this parses some again). */
const MAX_KEYS = 1000;

const keys = new Map<string, KeyObject>();

/** The key object of a PEM private key, parsed the first time it is asked for. */
export function privateKeyFor(pem: string): KeyObject {
  let key = keys.get(pem);
  if (!key) {
    key = createPrivateKey({ key: pem, format: 'pem' });
    // The oldest goes first: a map iterates in insertion order.
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value as string);
    keys.set(pem, key);
  }
  return key;
}
