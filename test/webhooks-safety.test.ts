/**
 * Webhooks never aimed at the operator's own network (SESAME_ALLOW_PRIVATE_NETWORKS off), on both
 * stores: private, loopback and link-local URLs, and names resolving to them, are refused when set;
 * a name that resolved to a public address at set-up and to 127.0.0.1 later (DNS rebinding) is
 * refused when the event is posted, and the receiver listening there gets nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtensionActionName, Requests } from '../src/schema/actions.js';
import { STORES } from './helpers/app.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { errorCode, extensionCall } from './helpers/sdk.js';
import { eventually, startSending, statusesOf, type SendingFixture } from './helpers/sending.js';

describe.each(STORES)('webhook destinations on %s', (store) => {
  let f: SendingFixture;
  let rx: Receiver;
  const ext = <A extends ExtensionActionName>(action: A, req: Requests[A]) => extensionCall(f.t.endpoint, f.t.creds, action, req);
  const port = (): string => new URL(rx.base).port;

  beforeAll(async () => {
    rx = await startReceiver();
    f = await startSending(store, { SESAME_ALLOW_PRIVATE_NETWORKS: 'false' });
    f.domains.extra.a = [...(f.domains.extra.a ?? []), { name: 'loop.hooks.test', address: '127.0.0.1' }, { name: 'rebind.hooks.test', address: '1.1.1.1' }];
    await f.domains.publish();
  });
  afterAll(async () => { await f?.stop(); await rx?.stop(); });

  it('refuses private, loopback and link-local destinations when the URL is set', async () => {
    for (const url of [`${rx.base}/x`, 'http://10.1.2.3/x', 'http://192.168.0.10/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'http://[::ffff:127.0.0.1]/x', `http://loop.hooks.test:${port()}/x`, 'http://nowhere.hooks.test/x']) {
      expect(await errorCode(ext('SetEmailCallback', { CallbackUrl: url })), url).toBe('InvalidParameterValue');
    }
    expect((await ext('ListEmailCallbacks', {})).TotalCount).toBe(0);
  });

  it('checks again when it posts: a name rebound to 127.0.0.1 gets no request', async () => {
    // Public when set.
    await ext('SetEmailCallback', { CallbackUrl: `http://rebind.hooks.test:${port()}/hook` });
    // Then the name points at the receiver on loopback.
    f.domains.extra.a = (f.domains.extra.a ?? []).map((r) => (r.name === 'rebind.hooks.test' ? { ...r, address: '127.0.0.1' } : r));
    await f.domains.publish();
    // An event: mail to the loopback MX is itself dropped here (private networks are off).
    const id = (await f.call('SendEmail', {
      FromEmailAddress: f.sender, Destination: ['someone@dest.test'], Subject: 'Hi', Template: { TemplateID: f.templateId, TemplateData: '{"name":"A","code":"1"}' },
    })).MessageId;
    await statusesOf(f, id, (l) => l[0].DeliverStatus === 2);
    const logged = await eventually(async () => (await f.t.app.services.db.all<{ error: string; http_status: number }>('SELECT error, http_status FROM webhook_log'))[0]);
    expect(logged.http_status).toBe(0);
    expect(logged.error).toMatch(/private or reserved network/);
    expect(rx.received).toHaveLength(0);
  });
});
