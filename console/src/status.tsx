/**
 * Sending status: what became of each recipient of the mail requested on a day, by recipient or
 * MessageId, page by page; and one delivery's history, attempt by attempt.
 */
import { useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import type { Words } from './i18n.js';
import { dayFromNow } from './text.js';
import { errorText, useAction } from './use-action.js';

interface Status {
  MessageId: string; ToEmailAddress: string; FromEmailAddress: string; SendStatus: number; DeliverStatus: number; DeliverMessage: string;
  RequestTime: number; DeliverTime: number; UserOpened: boolean; UserClicked: boolean; UserUnsubscribed: boolean; UserComplained: boolean;
}
const PAGE = 100;

export function SendingStatus(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const [day, setDay] = useState(dayFromNow(session.timeZone));
  const [recipient, setRecipient] = useState('');
  const [messageId, setMessageId] = useState('');
  const [page, setPage] = useState(0);
  const [rows, setRows] = useState<Status[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<{ messageId: string; to: string } | null>(null);
  const search = async (p: number) => {
    try {
      const r = await action<{ EmailStatusList: Status[] }>(session, 'GetSendEmailStatus', {
        RequestDate: day, Offset: p * PAGE, Limit: PAGE, ...(recipient ? { ToEmailAddress: recipient.trim() } : {}), ...(messageId ? { MessageId: messageId.trim() } : {}),
      });
      setRows(r.EmailStatusList);
      setPage(p);
      setError(null);
    } catch (err) { setError(errorText(err)); }
  };
  const deliver = (s: number) => words.deliverStatus[s as 0 | 1 | 2 | 3 | 8] ?? String(s);
  return (
    <section aria-labelledby="status-heading">
      <h2 id="status-heading">{words.nav.status}</h2>
      <form class="inline" onSubmit={(e) => { e.preventDefault(); void search(0); }}>
        <label for="status-day">{words.requestDate}</label>
        <input id="status-day" type="date" required value={day} onInput={(e) => setDay((e.target as HTMLInputElement).value)} />
        <label for="status-recipient">{words.recipient}</label>
        <input id="status-recipient" type="email" value={recipient} onInput={(e) => setRecipient((e.target as HTMLInputElement).value)} />
        <label for="status-message">MessageId</label>
        <input id="status-message" value={messageId} onInput={(e) => setMessageId((e.target as HTMLInputElement).value)} />
        <button type="submit">{words.search}</button>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      {rows && (rows.length === 0 ? <p>{words.none}</p> : (
        <table>
          <thead><tr>
            <th scope="col">{words.recipient}</th><th scope="col">{words.address}</th><th scope="col">{words.status}</th><th scope="col">{words.remoteReply}</th>
            <th scope="col">{words.requested}</th><th scope="col">{words.signals}</th><th scope="col">MessageId</th><th scope="col"><span class="sr-only">{words.actions}</span></th>
          </tr></thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.MessageId}${r.ToEmailAddress}`}>
                <td>{r.ToEmailAddress}</td><td>{r.FromEmailAddress}</td>
                <td>{deliver(r.DeliverStatus)}{r.SendStatus ? ` (SendStatus ${r.SendStatus})` : ''}</td>
                <td><code class="value">{r.DeliverMessage}</code></td>
                <td>{new Date(r.RequestTime * 1000).toLocaleString()}</td>
                <td>{[r.UserOpened && words.opened, r.UserClicked && words.clicked, r.UserUnsubscribed && words.unsubscribed, r.UserComplained && words.complained].filter(Boolean).join(', ')}</td>
                <td><code>{r.MessageId}</code></td>
                <td><button type="button" aria-label={`${words.history} ${r.ToEmailAddress}`} onClick={() => setOpen({ messageId: r.MessageId, to: r.ToEmailAddress })}>{words.history}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      {rows && (page > 0 || rows.length === PAGE) && (
        <p class="pager">
          <button type="button" disabled={page === 0} onClick={() => { void search(page - 1); }}>{words.previous}</button>
          <button type="button" disabled={rows.length < PAGE} onClick={() => { void search(page + 1); }}>{words.next}</button>
        </p>
      )}
      {open && <History key={`${open.messageId} ${open.to}`} session={session} words={words} {...open} />}
    </section>
  );
}

interface HistoryEvent { Event: string; Timestamp: number; BounceType: string; Reason: string; Link: string; UserAgent: string; Prefetch: string }

/** One delivery's history (ListEmailEvents): accepted, each attempt's reply, then what the recipient did. */
function History(props: { session: Session; words: Words; messageId: string; to: string }) {
  const { session, words } = props;
  const history = useAction<{ EventList: HistoryEvent[]; RequestTime: number }>(session, 'ListEmailEvents', { MessageId: props.messageId, ToEmailAddress: props.to });
  const when = (t: number) => new Date(t * 1000).toLocaleString();
  return (
    <section class="detail" aria-label={`${words.history}: ${props.to}`}>
      <h3>{words.history}: {props.to}</h3>
      {history.error && <p role="alert" class="error">{history.error}</p>}
      {history.data && (
        <ol class="history">
          <li data-event="accepted"><time>{when(history.data.RequestTime)}</time> · {words.acceptedEvent}</li>
          {history.data.EventList.map((e, i) => (
            <li key={i} data-event={e.Event}>
              <time>{when(e.Timestamp)}</time> · <strong>{words.eventNames[e.Event as keyof Words['eventNames']] ?? e.Event}</strong>
              {e.BounceType && ` (${e.BounceType})`}
              {e.Reason && <> · <code class="value">{e.Reason}</code></>}
              {e.Link && <> · <code class="value">{e.Link}</code></>}
              {e.Prefetch ? ` · ${words.prefetchedBy} ${e.Prefetch}` : e.UserAgent && ` · ${e.UserAgent}`}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
