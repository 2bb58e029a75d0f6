/** Flattened and JSON parameters decode into the same typed request, from the one schema. */
import { describe, expect, it } from 'vitest';
import { decodeFlatParams, decodeJsonParams } from './params.js';

const flat = (o: Record<string, string>): Map<string, string> => new Map(Object.entries(o));
const codeOf = (fn: () => unknown): string | undefined => {
  try { fn(); } catch (e) { return (e as { code?: string }).code; }
  return undefined;
};

describe('parameter decoding', () => {
  it('decodes SendEmail from form pairs exactly as from JSON', () => {
    const json = {
      FromEmailAddress: 'Team <noreply@mail.example.com>',
      Destination: ['a@example.com', 'b@example.com'],
      Subject: 'Hi',
      Template: { TemplateID: 12, TemplateData: '{"name":"Ann"}' },
      Attachments: [{ FileName: 'a.txt', Content: 'QQ==' }],
      TriggerType: 1,
    };
    const form = flat({
      FromEmailAddress: 'Team <noreply@mail.example.com>',
      'Destination.1': 'b@example.com',
      'Destination.0': 'a@example.com',
      Subject: 'Hi',
      'Template.TemplateID': '12',
      'Template.TemplateData': '{"name":"Ann"}',
      'Attachments.0.FileName': 'a.txt',
      'Attachments.0.Content': 'QQ==',
      TriggerType: '1',
    });
    expect(decodeFlatParams(form, 'SendEmailRequest', 'SendEmail')).toEqual(decodeJsonParams(json, 'SendEmailRequest', 'SendEmail'));
  });

  it('decodes nested lists of objects (Datas.3.Email)', () => {
    const form = flat({ ReceiverId: '7', 'Datas.0.Email': 'a@x.com', 'Datas.0.TemplateData': '{}', 'Datas.3.Email': 'd@x.com', 'Datas.3.TemplateData': '{"k":"v"}' });
    expect(decodeFlatParams(form, 'CreateReceiverDetailWithDataRequest', 'CreateReceiverDetailWithData')).toEqual({
      ReceiverId: 7,
      Datas: [{ Email: 'a@x.com', TemplateData: '{}' }, { Email: 'd@x.com', TemplateData: '{"k":"v"}' }],
    });
  });

  it('decodes booleans and dates from text', () => {
    expect(decodeFlatParams(flat({ EmailIdentity: 'x.com', NewAPI: 'true' }), 'UpdateEmailIdentityRequest', 'UpdateEmailIdentity'))
      .toEqual({ EmailIdentity: 'x.com', NewAPI: true });
    expect(decodeFlatParams(flat({ RequestDate: '2026-01-02', Offset: '0', Limit: '10' }), 'GetSendEmailStatusRequest', 'GetSendEmailStatus'))
      .toEqual({ RequestDate: '2026-01-02', Offset: 0, Limit: 10 });
  });

  it('names the parameter in every error', () => {
    expect(codeOf(() => decodeFlatParams(flat({ 'Destination.x': 'a' }), 'SendEmailRequest', 'SendEmail'))).toBe('InvalidParameterValue');
    expect(codeOf(() => decodeFlatParams(flat({ Destination: 'a', FromEmailAddress: 'x', Subject: 's' }), 'SendEmailRequest', 'SendEmail'))).toBe('InvalidParameterValue');
    expect(codeOf(() => decodeFlatParams(flat({ 'Template.Nope': '1', FromEmailAddress: 'x', Subject: 's' }), 'SendEmailRequest', 'SendEmail'))).toBe('UnknownParameter');
    expect(codeOf(() => decodeFlatParams(flat({ Template: '1', 'Template.TemplateID': '2' }), 'SendEmailRequest', 'SendEmail'))).toBe('InvalidParameterValue');
    expect(codeOf(() => decodeFlatParams(flat({ 'Destination.100001': 'a' }), 'SendEmailRequest', 'SendEmail'))).toBe('InvalidParameterValue');
    expect(codeOf(() => decodeJsonParams({ FromEmailAddress: 'x', Subject: 's', Template: { TemplateID: 1 } }, 'SendEmailRequest', 'SendEmail'))).toBe('MissingParameter');
    expect(codeOf(() => decodeJsonParams({ FromEmailAddress: 'x', Subject: 's', Destination: 'a@b.c' }, 'SendEmailRequest', 'SendEmail'))).toBe('InvalidParameterValue');
    expect(codeOf(() => decodeJsonParams({ FromEmailAddress: 'x', Subject: 's', Destination: [null] }, 'SendEmailRequest', 'SendEmail'))).toBe('InvalidParameterValue');
    expect(() => decodeJsonParams({ FromEmailAddress: 'x', Subject: 's', Template: { TemplateID: -3, TemplateData: '{}' } }, 'SendEmailRequest', 'SendEmail'))
      .toThrow(/Template\.TemplateID must not be negative/);
    expect(() => decodeFlatParams(flat({ 'Attachments.0.Bogus': 'x' }), 'SendEmailRequest', 'SendEmail')).toThrow(/Attachments\.0\.Bogus/);
  });

  it('treats null as absent and ignores nothing unknown', () => {
    expect(decodeJsonParams({ Limit: 1, Offset: 0, Status: null }, 'ListSendTasksRequest', 'ListSendTasks')).toEqual({ Limit: 1, Offset: 0 });
    expect(codeOf(() => decodeJsonParams(JSON.parse('{"Limit":1,"Offset":0,"__proto__":{"x":1}}'), 'ListSendTasksRequest', 'ListSendTasks'))).toBe('UnknownParameter');
  });

  it('refuses a string longer than its schema bound, naming it, before anything parses it', () => {
    // One million spaces in a From once held the event loop for minutes (a backtracking pattern).
    const from = `a${' '.repeat(1_000_000)}b`;
    const base = { Subject: 's', Destination: ['a@x.com'], Template: { TemplateID: 1, TemplateData: '{}' } };
    expect(() => decodeJsonParams({ ...base, FromEmailAddress: from }, 'SendEmailRequest', 'SendEmail'))
      .toThrow('FromEmailAddress is longer than 640 characters.');
    expect(codeOf(() => decodeJsonParams({ ...base, FromEmailAddress: from }, 'SendEmailRequest', 'SendEmail'))).toBe('InvalidParameterValue');
    expect(() => decodeFlatParams(flat({ FromEmailAddress: from, Subject: 's' }), 'SendEmailRequest', 'SendEmail'))
      .toThrow('FromEmailAddress is longer than 640 characters.');
    // Nested fields and list items are named by their path.
    const long = (n: number): string => 'x'.repeat(n);
    expect(() => decodeJsonParams({ ...base, FromEmailAddress: 'a@x.com', Destination: ['a@x.com', long(321)] }, 'SendEmailRequest', 'SendEmail'))
      .toThrow('Destination.1 is longer than 320 characters.');
    expect(() => decodeJsonParams({ ...base, FromEmailAddress: 'a@x.com', Template: { TemplateID: 1, TemplateData: long(65_537) } }, 'SendEmailRequest', 'SendEmail'))
      .toThrow('Template.TemplateData is longer than 65536 characters.');
    expect(() => decodeFlatParams(flat({ ReceiverId: '1', 'Datas.0.Email': 'a@x.com', 'Datas.0.TemplateData': long(1025) }), 'CreateReceiverDetailWithDataRequest', 'CreateReceiverDetailWithData'))
      .toThrow('Datas.0.TemplateData is longer than 1024 characters.');
    expect(() => decodeJsonParams({ TaskId: 1, Operation: long(65) }, 'UpdateSendTaskRequest', 'UpdateSendTask'))
      .toThrow('Operation is longer than 64 characters.');
    // A value at its bound is taken as it is (the service applies its own, exact rules after).
    expect(decodeJsonParams({ ...base, FromEmailAddress: long(640), Subject: long(2048) }, 'SendEmailRequest', 'SendEmail'))
      .toMatchObject({ FromEmailAddress: long(640), Subject: long(2048) });
  });

  it('refuses a list with more items than its schema bound', () => {
    const base = { FromEmailAddress: 'a@x.com', Subject: 's' };
    expect(() => decodeJsonParams({ ...base, Destination: Array.from({ length: 501 }, () => 'a@x.com') }, 'SendEmailRequest', 'SendEmail'))
      .toThrow('Destination holds 501 items; at most 500 are allowed.');
    expect(decodeJsonParams({ ...base, Destination: Array.from({ length: 500 }, () => 'a@x.com') }, 'SendEmailRequest', 'SendEmail'))
      .toMatchObject({ Destination: expect.any(Array) });
    expect(() => decodeFlatParams(flat({ ...base, 'Destination.500': 'a@x.com' }), 'SendEmailRequest', 'SendEmail'))
      .toThrow('Destination.500 is beyond the 500 items Destination may hold.');
    expect(codeOf(() => decodeFlatParams(flat({ ...base, 'Attachments.100.FileName': 'a.txt' }), 'SendEmailRequest', 'SendEmail'))).toBe('InvalidParameterValue');
    expect(decodeFlatParams(flat({ ...base, 'Attachments.99.FileName': 'a.txt' }), 'SendEmailRequest', 'SendEmail'))
      .toMatchObject({ Attachments: [{ FileName: 'a.txt' }] });
  });
});
