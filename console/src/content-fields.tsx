/**
 * What a send and a batch task share: the sender address, an approved template, the subject and
 * the template's variables. `request()` is those as the API takes them.
 */
import { useEffect, useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import type { Words } from './i18n.js';
import { fromBase64, variablesOf } from './text.js';
import { errorText, useAction } from './use-action.js';

interface ContentRequest { FromEmailAddress: string; Subject: string; Template: { TemplateID: number; TemplateData: string } }

/**
 * The fields, and the request they make. `id` keeps the fields' ids apart between screens;
 * `omitEmpty` leaves variables without a value out of TemplateData (a batch task's group data gives them).
 */
export function useContentFields(session: Session, words: Words, id: string, opts: { omitEmpty: boolean; variablesHelp?: string }) {
  const senders = useAction<{ EmailSenders: { EmailAddress: string; EmailSenderName: string }[] }>(session, 'ListEmailAddress', {});
  const templates = useAction<{ TemplatesMetadata: { TemplateID: number; TemplateName: string; TemplateStatus: number }[] }>(session, 'ListEmailTemplates', { Limit: 100, Offset: 0 });
  const approved = templates.data?.TemplatesMetadata.filter((t) => t.TemplateStatus === 0) ?? [];
  const [from, setFrom] = useState('');
  const [templateId, setTemplateId] = useState('');
  const [subject, setSubject] = useState('');
  const [data, setData] = useState<Record<string, string>>({});
  const [variables, setVariables] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const chosen = templateId || String(approved[0]?.TemplateID ?? '');
  const sender = from || senders.data?.EmailSenders[0]?.EmailAddress || '';
  // The chosen template's variables, read from its content.
  useEffect(() => {
    if (!chosen) return;
    action<{ TemplateContent: { Html?: string; Text?: string } }>(session, 'GetEmailTemplate', { TemplateID: Number(chosen) }).then((t) => {
      setVariables(variablesOf([t.TemplateContent.Html, t.TemplateContent.Text].map((b) => (b ? fromBase64(b) : '')).join('\n')));
    }, (e: unknown) => setError(errorText(e)));
  }, [chosen]);
  const values = opts.omitEmpty ? Object.fromEntries(Object.entries(data).filter(([, v]) => v !== '')) : data;
  const request = (): ContentRequest => ({ FromEmailAddress: sender, Subject: subject, Template: { TemplateID: Number(chosen), TemplateData: JSON.stringify(values) } });
  const fields = (
    <>
      <label for={`${id}-from`}>{words.sender}</label>
      <select id={`${id}-from`} value={sender} onChange={(e) => setFrom((e.target as HTMLSelectElement).value)}>
        {(senders.data?.EmailSenders ?? []).map((s) => <option key={s.EmailAddress} value={s.EmailAddress}>{s.EmailSenderName ? `${s.EmailSenderName} <${s.EmailAddress}>` : s.EmailAddress}</option>)}
      </select>
      <label for={`${id}-template`}>{words.template}</label>
      <select id={`${id}-template`} value={chosen} onChange={(e) => { setTemplateId((e.target as HTMLSelectElement).value); setData({}); }}>
        {approved.map((t) => <option key={t.TemplateID} value={String(t.TemplateID)}>{t.TemplateName}</option>)}
      </select>
      <label for={`${id}-subject`}>{words.subject}</label>
      <input id={`${id}-subject`} required value={subject} onInput={(e) => setSubject((e.target as HTMLInputElement).value)} />
      {variables.length > 0 && (
        <fieldset>
          <legend>{words.variables}</legend>
          {opts.variablesHelp && <small>{opts.variablesHelp}</small>}
          {variables.map((v) => (
            <label key={v}>{v} <input aria-label={`${words.valueOf} ${v}`} value={data[v] ?? ''} onInput={(e) => setData({ ...data, [v]: (e.target as HTMLInputElement).value })} /></label>
          ))}
        </fieldset>
      )}
    </>
  );
  return { fields, request, ready: Boolean(sender && chosen), error: error ?? senders.error ?? templates.error };
}
