/**
 * Send: a regular send (SendEmail) from a sender address with a template and its variables, to up
 * to 50 recipients; also the way to send yourself a test. Answers the MessageId to look up in
 * Sending status.
 */
import { useEffect, useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import type { Words } from './i18n.js';
import { fromBase64, variablesOf } from './text.js';
import { errorText, useAction } from './use-action.js';

/** SendEmail takes at most this many recipients (FACTS §6.1). */
const MAX_RECIPIENTS = 50;

export function Send(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const senders = useAction<{ EmailSenders: { EmailAddress: string; EmailSenderName: string }[] }>(session, 'ListEmailAddress', {});
  const templates = useAction<{ TemplatesMetadata: { TemplateID: number; TemplateName: string; TemplateStatus: number }[] }>(session, 'ListEmailTemplates', { Limit: 100, Offset: 0 });
  const approved = templates.data?.TemplatesMetadata.filter((t) => t.TemplateStatus === 0) ?? [];
  const [from, setFrom] = useState('');
  const [templateId, setTemplateId] = useState('');
  const [subject, setSubject] = useState('');
  const [to, setTo] = useState('');
  const [data, setData] = useState<Record<string, string>>({});
  const [variables, setVariables] = useState<string[]>([]);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const chosen = templateId || String(approved[0]?.TemplateID ?? '');
  // The chosen template's variables, read from its content (and the subject's own).
  useEffect(() => {
    if (!chosen) return;
    action<{ TemplateContent: { Html?: string; Text?: string } }>(session, 'GetEmailTemplate', { TemplateID: Number(chosen) }).then((t) => {
      setVariables(variablesOf([t.TemplateContent.Html, t.TemplateContent.Text].map((b) => (b ? fromBase64(b) : '')).join('\n')));
    }, (e: unknown) => setError(errorText(e)));
  }, [chosen]);
  const recipients = to.split(/[\s,;]+/).filter(Boolean);
  const send = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await action<{ MessageId: string }>(session, 'SendEmail', {
        FromEmailAddress: from || senders.data?.EmailSenders[0]?.EmailAddress, Destination: recipients, Subject: subject,
        Template: { TemplateID: Number(chosen), TemplateData: JSON.stringify(data) },
      });
      setResult(r.MessageId);
      setError(null);
    } catch (err) { setError(errorText(err)); setResult(null); }
  };
  return (
    <section aria-labelledby="send-heading">
      <h2 id="send-heading">{words.nav.send}</h2>
      <form class="detail editor" onSubmit={send}>
        <label for="send-from">{words.sender}</label>
        <select id="send-from" value={from} onChange={(e) => setFrom((e.target as HTMLSelectElement).value)}>
          {(senders.data?.EmailSenders ?? []).map((s) => <option key={s.EmailAddress} value={s.EmailAddress}>{s.EmailSenderName ? `${s.EmailSenderName} <${s.EmailAddress}>` : s.EmailAddress}</option>)}
        </select>
        <label for="send-template">{words.nav.templates}</label>
        <select id="send-template" value={chosen} onChange={(e) => { setTemplateId((e.target as HTMLSelectElement).value); setData({}); }}>
          {approved.map((t) => <option key={t.TemplateID} value={String(t.TemplateID)}>{t.TemplateName}</option>)}
        </select>
        <label for="send-subject">{words.subject}</label>
        <input id="send-subject" required value={subject} onInput={(e) => setSubject((e.target as HTMLInputElement).value)} />
        <label for="send-to">{words.recipients}</label>
        <textarea id="send-to" rows={3} required value={to} onInput={(e) => setTo((e.target as HTMLTextAreaElement).value)} />
        <small>{recipients.length} / {MAX_RECIPIENTS}</small>
        {variables.length > 0 && (
          <fieldset>
            <legend>{words.variables}</legend>
            {variables.map((v) => (
              <label key={v}>{v} <input aria-label={`${words.valueOf} ${v}`} value={data[v] ?? ''} onInput={(e) => setData({ ...data, [v]: (e.target as HTMLInputElement).value })} /></label>
            ))}
          </fieldset>
        )}
        <button type="submit" disabled={recipients.length === 0 || recipients.length > MAX_RECIPIENTS || !chosen}>{words.sendNow}</button>
        {result && <p role="status">{words.accepted} MessageId <code>{result}</code></p>}
        {error && <p role="alert" class="error">{error}</p>}
      </form>
    </section>
  );
}
