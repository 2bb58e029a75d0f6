/**
 * Authenticated encryption of secrets at rest (AES-256-GCM under the master key). Each sealed value
 * is bound to a purpose string (for example the SecretId it belongs to), so a sealed value copied
 * onto another row does not open there.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/** Seals and opens secrets with one 32-byte master key. */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the master key must be 32 bytes');
  }

  /** Encrypts `plaintext` for `purpose`; the result is printable text. */
  seal(plaintext: string, purpose: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(purpose, 'utf8'));
    const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    return [VERSION, iv.toString('base64'), c.getAuthTag().toString('base64'), body.toString('base64')].join(':');
  }

  /** Decrypts a value sealed for the same purpose; throws when it was altered or moved. */
  open(sealed: string, purpose: string): string {
    const [version, iv, tag, body] = sealed.split(':');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('not a sealed value');
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    d.setAAD(Buffer.from(purpose, 'utf8'));
    d.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(body, 'base64')), d.final()]).toString('utf8');
  }

  /** A key of its own for one purpose, derived from the master key (HKDF-SHA256). */
  subkey(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `sesame: ${purpose}`, 32));
  }

  /** A value that identifies the key without revealing it (stored to detect a wrong key at start). */
  fingerprint(): string {
    return createHmac('sha256', this.key).update('sesame master key check').digest('hex');
  }
}
