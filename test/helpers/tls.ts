/** Certificates for test servers: self-signed, for one host name or address, made fresh per run. */
import { generate } from 'selfsigned';

/** A key and a certificate (PEM) whose subject alternative name is `name`. */
export async function certificateFor(name: string): Promise<{ key: string; cert: string }> {
  const ip = /^\d+\.\d+\.\d+\.\d+$/.test(name);
  const r = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [ip ? { type: 7, ip: name } : { type: 2, value: name }] },
    ],
  });
  return { key: r.private, cert: r.cert };
}
