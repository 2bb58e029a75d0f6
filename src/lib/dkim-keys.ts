/**
 * DKIM key pairs: RSA (RFC 6376) and Ed25519 (RFC 8463). The public half is what the DNS record's
 * p= tag carries: the SubjectPublicKeyInfo for RSA, the raw 32-byte key for Ed25519.
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { DkimPublicKey } from '../domain/dns-records.js';

const generate = promisify(generateKeyPair);

/** DKIMOption of the API: 0 RSA-1024, 1 RSA-2048, 2 RSA-2048 plus Ed25519 (dual signature). */
export const DkimOption = { Rsa1024: 0, Rsa2048: 1, Dual: 2 } as const;
export type DkimOptionValue = (typeof DkimOption)[keyof typeof DkimOption];

/** A generated key: its public record data and its private key (PKCS#8 PEM). */
export interface DkimKeyPair extends DkimPublicKey {
  privateKeyPem: string;
}

async function rsa(bits: number, selector: string): Promise<DkimKeyPair> {
  const { publicKey, privateKey } = await generate('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { algorithm: 'rsa', selector, publicKey: publicKey.toString('base64'), privateKeyPem: privateKey };
}

async function ed25519(selector: string): Promise<DkimKeyPair> {
  const { publicKey, privateKey } = await generate('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  // The SPKI of an Ed25519 key ends with the 32 raw key bytes (RFC 8410), which RFC 8463 publishes.
  return { algorithm: 'ed25519', selector, publicKey: publicKey.subarray(-32).toString('base64'), privateKeyPem: privateKey };
}

/** The selector of the Ed25519 key of a dual-signature domain. */
export const ed25519Selector = (selector: string): string => `${selector}-ed25519`;

/** Generates the key pairs an option calls for (off the main thread: RSA generation is slow). */
export async function generateDkimKeys(option: DkimOptionValue, selector: string): Promise<DkimKeyPair[]> {
  switch (option) {
    case DkimOption.Rsa1024: return [await rsa(1024, selector)];
    case DkimOption.Rsa2048: return [await rsa(2048, selector)];
    case DkimOption.Dual: return Promise.all([rsa(2048, selector), ed25519(ed25519Selector(selector))]);
  }
}
