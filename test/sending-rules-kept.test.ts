/**
 * What SendEmail reads for every message (the template, the sender address and its domain, the
 * sender's unsubscribe setting) is kept between requests only while nothing could have changed it:
 * a change by this process, or by another connection to the store (another process), applies from
 * the very next message on, on both stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/main.js';
import type { Db } from '../src/store/db.js';
import { STORES } from './helpers/app.js';
import { b64, errorCode } from './helpers/sdk.js';
import { eventually, SENDER_DOMAIN, startSending, type SendingFixture } from './helpers/sending.js';

describe.each(STORES)('sending rules kept between requests on %s', (store) => {
  let f: SendingFixture;
  let n = 0;
  const send = (templateId = f.templateId) => f.call('SendEmail', {
    FromEmailAddress: f.sender, Destination: [`kept${++n}@dest.test`], Subject: `kept ${n}`,
    Template: { TemplateID: templateId, TemplateData: '{"name":"Ann","code":"1"}' },
  }) as Promise<{ MessageId: string }>;
  /** The raw message the MX received for the last send. */
  const lastMail = async (): Promise<string> => {
    const to = `kept${n}@dest.test`;
    const r = await eventually(async () => f.mx1.received.find((m) => m.to.includes(to)), 20_000, `the mail to ${to}`);
    return r.raw.toString();
  };
  /** Runs `fn` on a connection of its own to the store, as another process would. */
  const elsewhere = async (fn: (db: Db) => Promise<unknown>): Promise<void> => {
    const other = await openStore(f.t.config);
    try { await fn(other); } finally { await other.close(); }
  };

  beforeAll(async () => { f = await startSending(store, { SESAME_FREQUENCY_LIMIT: '0' }); });
  afterAll(async () => { await f?.stop(); });

  it('a template changed or withdrawn is seen at the next message', async () => {
    await send();
    await send();
    // Changed through the API: the next message has the new text.
    await f.call('UpdateEmailTemplate', {
      TemplateID: f.templateId, TemplateName: 'welcome',
      TemplateContent: { Html: b64('<p>Second wording for {{name}} ({{code}})</p>'), Text: b64('Second wording for {{name}} ({{code}})') },
    });
    await send();
    expect(await lastMail()).toContain('Second wording for Ann');
    // Withdrawn (no longer approved) by another connection, then approved again.
    await elsewhere((db) => db.run('UPDATE templates SET status = 2 WHERE id = ?', [f.templateId]));
    expect(await errorCode(send())).toBe('FailedOperation.InvalidTemplateID');
    await elsewhere((db) => db.run('UPDATE templates SET status = 0 WHERE id = ?', [f.templateId]));
    await send();
    // Deleted through the API.
    const id = (await f.call('CreateEmailTemplate', { TemplateName: 'short-lived', TemplateContent: { Text: b64('Hi {{name}} {{code}}') } })).TemplateID;
    await send(id);
    await f.call('DeleteEmailTemplate', { TemplateID: id });
    expect(await errorCode(send(id))).toBe('FailedOperation.InvalidTemplateID');
  });

  it('a domain that stops verifying, and a sender address removed, are seen at the next message', async () => {
    await send();
    await elsewhere((db) => db.run('UPDATE domains SET verified = 0 WHERE name = ?', [SENDER_DOMAIN]));
    expect(await errorCode(send())).toBe('FailedOperation.NotAuthenticatedSender');
    await elsewhere((db) => db.run('UPDATE domains SET verified = 1 WHERE name = ?', [SENDER_DOMAIN]));
    await send();
    await f.call('DeleteEmailAddress', { EmailAddress: f.sender });
    expect(await errorCode(send())).toBe('InvalidParameterValue.NoSuchSender');
    await f.call('CreateEmailAddress', { EmailAddress: f.sender, EmailSenderName: 'Shop News' });
    await send();
  });

  it("the sender's unsubscribe setting, set by this process or another, shapes the next message", async () => {
    await send();
    expect(await lastMail()).not.toMatch(/^List-Unsubscribe:/im);
    await f.call('CreateAddressUnsubscribeConfig', { Address: f.sender, UnsubscribeConfig: '1', Status: 1 });
    await send();
    expect(await lastMail()).toMatch(/^List-Unsubscribe:/im);
    await elsewhere((db) => db.run('UPDATE unsubscribe_settings SET enabled = 0 WHERE address = ?', [f.sender]));
    await send();
    expect(await lastMail()).not.toMatch(/^List-Unsubscribe:/im);
  });
});
