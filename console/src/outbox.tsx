/**
 * Outbox (SESAME_DELIVERY=capture): the mail the worker kept instead of sending, newest first, page
 * by page; each one as its recipient would have got it: the HTML rendered in a sandboxed frame (no
 * script runs, nothing is fetched: the page's CSP holds inside it), the headers, the text part, and
 * the raw message to download as an .eml file.
 */
import { useEffect, useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import type { Words } from './i18n.js';
import { Pager } from './pager.js';
import { errorText, useAction } from './use-action.js';

interface Captured { Id: number; MessageId: string; FromEmailAddress: string; ToEmailAddress: string; Subject: string; Size: number; CapturedTimestamp: number }
interface CapturedMail extends Captured { Raw: string; Headers: { Name: string; Value: string }[]; Html: string; Text: string }
const PAGE = 20;

export function Outbox(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const [page, setPage] = useState(0);
  const [recipient, setRecipient] = useState('');
  const [filter, setFilter] = useState('');
  const list = useAction<{ CapturedEmailList: Captured[]; TotalCount: number }>(session, 'ListCapturedEmails', { Offset: page * PAGE, Limit: PAGE, ...(filter ? { Recipient: filter } : {}) }, [page, filter]);
  const [open, setOpen] = useState<number | null>(null);
  return (
    <section aria-labelledby="outbox-heading">
      <h2 id="outbox-heading">{words.nav.outbox}</h2>
      <p>{words.outboxHelp}</p>
      <form class="inline" onSubmit={(e) => { e.preventDefault(); setPage(0); setFilter(recipient.trim()); list.reload(); }}>
        <label for="outbox-recipient">{words.recipient}</label>
        <input id="outbox-recipient" type="email" value={recipient} onInput={(e) => setRecipient((e.target as HTMLInputElement).value)} />
        <button type="submit">{words.search}</button>
      </form>
      {list.error && <p role="alert" class="error">{list.error}</p>}
      {list.data && (list.data.CapturedEmailList.length === 0 ? <p>{words.none}</p> : (
        <table aria-label={words.nav.outbox}>
          <thead><tr><th scope="col">{words.captured}</th><th scope="col">{words.recipient}</th><th scope="col">{words.sender}</th><th scope="col">{words.subject}</th><th scope="col">{words.size}</th><th scope="col"><span class="sr-only">{words.actions}</span></th></tr></thead>
          <tbody>
            {list.data.CapturedEmailList.map((m) => (
              <tr key={m.Id}>
                <td>{new Date(m.CapturedTimestamp * 1000).toLocaleString()}</td><td>{m.ToEmailAddress}</td><td>{m.FromEmailAddress}</td><td>{m.Subject}</td><td>{m.Size}</td>
                <td><button type="button" aria-label={`${words.openGroup} ${m.ToEmailAddress} #${m.Id}`} onClick={() => setOpen(m.Id)}>{words.openGroup}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      {list.data && <Pager words={words} page={page} size={PAGE} total={list.data.TotalCount} onPage={setPage} />}
      {open !== null && <Message key={open} session={session} words={words} id={open} />}
    </section>
  );
}

function Message(props: { session: Session; words: Words; id: number }) {
  const { session, words, id } = props;
  const [mail, setMail] = useState<CapturedMail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [download, setDownload] = useState<string | null>(null);
  useEffect(() => {
    let url: string | null = null;
    action<CapturedMail>(session, 'GetCapturedEmail', { Id: id }).then((m) => {
      setMail(m);
      url = URL.createObjectURL(new Blob([Uint8Array.from(atob(m.Raw), (c) => c.charCodeAt(0))], { type: 'message/rfc822' }));
      setDownload(url);
    }, (e: unknown) => setError(errorText(e)));
    return () => { if (url) URL.revokeObjectURL(url); };
  }, [id]);
  if (error) return <p role="alert" class="error">{error}</p>;
  if (!mail) return <p>{words.loading}</p>;
  return (
    <section class="detail" aria-label={`${words.message} #${id}`}>
      <h3>{mail.Subject}</h3>
      {download && <a href={download} download={`sesame-${id}.eml`}>{words.downloadEml}</a>}
      {mail.Html && <iframe title={words.renderedHtml} sandbox="" srcdoc={mail.Html} class="preview" />}
      {mail.Text && <><h4>{words.plainText}</h4><pre class="text-part">{mail.Text}</pre></>}
      <h4>{words.headers}</h4>
      <table aria-label={words.headers}>
        <tbody>{mail.Headers.map((h, i) => <tr key={i}><th scope="row">{h.Name}</th><td><code class="value">{h.Value}</code></td></tr>)}</tbody>
      </table>
    </section>
  );
}
