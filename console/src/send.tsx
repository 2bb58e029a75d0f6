/**
 * Send: a regular send (SendEmail) from a sender address with a template and its variables, to up
 * to 50 recipients; also the way to send yourself a test. Answers the MessageId to look up in
 * Sending status.
 */
import { useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import { useContentFields } from './content-fields.js';
import type { Words } from './i18n.js';
import { errorText } from './use-action.js';

/** SendEmail takes at most this many recipients (FACTS §6.1). */
const MAX_RECIPIENTS = 50;

export function Send(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const content = useContentFields(session, words, 'send', { omitEmpty: false });
  const [to, setTo] = useState('');
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const recipients = to.split(/[\s,;]+/).filter(Boolean);
  const send = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await action<{ MessageId: string }>(session, 'SendEmail', { ...content.request(), Destination: recipients });
      setResult(r.MessageId);
      setError(null);
    } catch (err) { setError(errorText(err)); setResult(null); }
  };
  const shown = error ?? content.error;
  return (
    <section aria-labelledby="send-heading">
      <h2 id="send-heading">{words.nav.send}</h2>
      <form class="detail editor" onSubmit={send}>
        {content.fields}
        <label for="send-to">{words.recipients}</label>
        <textarea id="send-to" rows={3} required value={to} onInput={(e) => setTo((e.target as HTMLTextAreaElement).value)} />
        <small>{recipients.length} / {MAX_RECIPIENTS}</small>
        <button type="submit" disabled={recipients.length === 0 || recipients.length > MAX_RECIPIENTS || !content.ready}>{words.sendNow}</button>
        {result && <p role="status">{words.accepted} MessageId <code>{result}</code></p>}
        {shown && <p role="alert" class="error">{shown}</p>}
      </form>
    </section>
  );
}
