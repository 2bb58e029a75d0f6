/**
 * The certificate of the SMTP listeners: the configured files (`SESAME_TLS_CERT`, `SESAME_TLS_KEY`),
 * or else a self-signed one for `SESAME_HOSTNAME`, made at the first start and kept in the data
 * folder so that clients which pinned it keep working across restarts.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { generate } from 'selfsigned';

/** A key and its certificate chain, PEM. */
export interface TlsMaterial { key: string; cert: string }

/** Where the self-signed pair lives, inside the data folder. */
export const SELF_SIGNED_DIR = 'tls';

/** The configured pair, or the self-signed one (generated when missing). */
export async function smtpCertificate(o: { certFile?: string; keyFile?: string; dataDir: string; hostname: string; log: Logger }): Promise<TlsMaterial> {
  if (o.certFile && o.keyFile) return { cert: readPem(o.certFile, 'SESAME_TLS_CERT'), key: readPem(o.keyFile, 'SESAME_TLS_KEY') };
  const dir = join(o.dataDir, SELF_SIGNED_DIR);
  const certFile = join(dir, 'smtp-cert.pem');
  const keyFile = join(dir, 'smtp-key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) {
    o.log.warn({ cert: certFile }, 'SMTP uses a self-signed certificate: clients must be told to trust it; set SESAME_TLS_CERT and SESAME_TLS_KEY for a real one');
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  }
  const pair = await generate([{ name: 'commonName', value: o.hostname }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 5 * 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: o.hostname }] },
    ],
  });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Written aside and renamed, so a crash never leaves half a key; the key is readable by us only.
  writeFileSync(`${keyFile}.tmp`, pair.private, { mode: 0o600 });
  writeFileSync(`${certFile}.tmp`, pair.cert);
  renameSync(`${keyFile}.tmp`, keyFile);
  renameSync(`${certFile}.tmp`, certFile);
  o.log.warn({ cert: certFile, hostname: o.hostname }, 'SMTP uses a new self-signed certificate: clients must be told to trust it; set SESAME_TLS_CERT and SESAME_TLS_KEY for a real one');
  return { cert: pair.cert, key: pair.private };
}

/** A PEM file named by a setting, or a start-up error that names the setting. */
export function readPem(path: string, setting: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${setting}: cannot read ${path} (${(e as Error).message})`);
  }
}
