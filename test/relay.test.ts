/**
 * The relay delivery mode (SESAME_DELIVERY=relay): everything goes to the relay named in
 * SESAME_RELAY_URL, found by its address records (never its MX), with credentials sent only over
 * TLS to a server whose certificate proves it is that relay.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startMx, type TestMx } from './helpers/mx.js';
import { startSending, statusesOf, type SendingFixture } from './helpers/sending.js';
import { certificateFor } from './helpers/tls.js';

const CREDS = { user: 'relay-user', pass: 'relay pass/1' };

describe('relay delivery', () => {
  let dir: string;
  let caFile: string;
  let port: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sesame-relay-'));
    port = await freePort();
  });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  /** Sesame relaying through `relay.test` (which DNS points at `address`), trusting `ca`. */
  async function relayed(address: string, ca: string | null): Promise<SendingFixture> {
    const settings: Record<string, string> = {
      SESAME_DELIVERY: 'relay',
      SESAME_RELAY_URL: `smtp://${CREDS.user}:${encodeURIComponent(CREDS.pass)}@relay.test:${port}`,
      // The default: the relay (on loopback here) is the operator's choice and is never filtered.
      SESAME_ALLOW_PRIVATE_NETWORKS: 'false',
    };
    if (ca) {
      caFile = join(dir, `ca-${address}.pem`);
      await writeFile(caFile, ca);
      settings.SESAME_OUTBOUND_TLS_CA = caFile;
    }
    const f = await startSending('sqlite', settings);
    // The relay's name has an MX record too, pointing at another server: it must not be used.
    f.domains.extra.a!.push({ name: 'relay.test', address });
    f.domains.extra.mx!.push({ name: 'relay.test', host: 'mx1.dest.test', priority: 10 });
    await f.domains.publish();
    return f;
  }
  const send = (f: SendingFixture, to: string[]): Promise<string> => f.call('SendEmail', {
    FromEmailAddress: f.sender, Destination: to, Subject: 'via relay',
    Template: { TemplateID: f.templateId, TemplateData: '{"name":"A","code":"1"}' },
  }).then((r) => r.MessageId);

  describe('with a relay whose certificate checks out', () => {
    let f: SendingFixture;
    let relay: TestMx;
    beforeAll(async () => {
      const tls = await certificateFor('relay.test');
      relay = await startMx('127.0.0.4', port, { kind: 'accept' }, { auth: CREDS, tls });
      f = await relayed('127.0.0.4', tls.cert);
    });
    afterAll(async () => {
      await f?.stop();
      await relay?.stop();
    });

    it('sends every message there, with AUTH over checked TLS, whatever the MX records say', async () => {
      const id = await send(f, ['someone@dest.test', 'other@no-such-domain.test']);
      const got = await relay.waitFor(2);
      expect(got.map((g) => g.to[0]).sort()).toEqual(['other@no-such-domain.test', 'someone@dest.test']);
      expect(got.every((g) => g.secure)).toBe(true);
      expect(relay.auths.length).toBeGreaterThan(0);
      expect(relay.auths.every((a) => a.secure && a.user === CREDS.user)).toBe(true);
      expect(f.mx1.received).toHaveLength(0);
      await statusesOf(f, id, (l) => l.length === 2 && l.every((s) => s.DeliverStatus === 1));
      expect(await f.verifyDkim(got[0].raw)).toEqual([{ result: 'pass', domain: 'mail.shop.test', algorithm: 'rsa-sha256' }]);
    });
  });

  describe('with a relay that offers no STARTTLS', () => {
    let f: SendingFixture;
    let relay: TestMx;
    beforeAll(async () => {
      relay = await startMx('127.0.0.5', port, { kind: 'accept' }, { auth: CREDS, noStartTls: true });
      f = await relayed('127.0.0.5', null);
    });
    afterAll(async () => {
      await f?.stop();
      await relay?.stop();
    });

    it('never offers the credentials in clear: the mail waits (deferred) instead', async () => {
      const id = await send(f, ['someone@dest.test']);
      const [s] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 8);
      expect(s.DeliverMessage).toMatch(/STARTTLS|TLS/i);
      expect(relay.auths).toEqual([]);
      expect(relay.received).toEqual([]);
    });
  });

  describe('with a server whose certificate is not the relay\'s', () => {
    let f: SendingFixture;
    let impostor: TestMx;
    beforeAll(async () => {
      // Certified for another name, by an authority Sesame was told to trust.
      const tls = await certificateFor('impostor.test');
      impostor = await startMx('127.0.0.6', port, { kind: 'accept' }, { auth: CREDS, tls });
      f = await relayed('127.0.0.6', tls.cert);
    });
    afterAll(async () => {
      await f?.stop();
      await impostor?.stop();
    });

    it('sends neither the credentials nor the mail', async () => {
      const id = await send(f, ['someone@dest.test']);
      const [s] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 8);
      expect(s.DeliverMessage).toMatch(/certificate|altnames|relay\.test/i);
      expect(impostor.auths).toEqual([]);
      expect(impostor.received).toEqual([]);
    });
  });
});
