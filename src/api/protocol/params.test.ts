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
});
