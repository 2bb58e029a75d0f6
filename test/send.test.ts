import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { formatDate } from '../src/lib/time.js';
import { STORES } from './helpers/app.js';
import { eventually, startSending, type SendingFixture } from './helpers/sending.js';

describe.each(STORES)('SendEmail on %s', (store) => {
  let f: SendingFixture;
  beforeAll(async () => { f = await startSending(store); });
  afterAll(async () => { await f.stop(); });

  it('delivers a DKIM-signed template message', async () => {
    const { MessageId } = await f.call('SendEmail', {
      FromEmailAddress: `Shop <${f.sender}>`, Destination: ['ann@dest.test'], Subject: 'Welcome {{name}}',
      Template: { TemplateID: f.templateId, TemplateData: JSON.stringify({ name: 'Ann <& Co>', code: '42' }) },
    });
    expect(MessageId).toMatch(/^qcloudses-30-\d+-date-\d{14}-[A-Za-z0-9]{12}$/);
    const [got] = await f.mx1.waitFor(1);
    const dkim = await f.verifyDkim(got.raw);
    expect(dkim).toEqual([{ result: 'pass', domain: 'mail.shop.test', algorithm: 'rsa-sha256' }]);
    const mail = await simpleParser(got.raw);
    expect(mail.subject).toBe('Welcome Ann <& Co>');
    expect(mail.html).toContain('Hello Ann &lt;&amp; Co&gt;');
    const status = await eventually(async () => {
      const r = await f.call('GetSendEmailStatus', { RequestDate: formatDate(Date.now(), 'UTC'), Offset: 0, Limit: 10, MessageId });
      return r.EmailStatusList[0]?.DeliverStatus === 1 ? r.EmailStatusList[0] : undefined;
    });
    expect(status).toMatchObject({ ToEmailAddress: 'ann@dest.test', SendStatus: 0, DeliverStatus: 1 });
  });
});
