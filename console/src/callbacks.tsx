/** Callbacks: the account's and each sender address's URL, the signing secret (hidden until asked), its status, and the requests made to it. */
import { useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import { CopyButton } from './copy.js';
import type { Words } from './i18n.js';
import { useAction, useAttempt } from './use-action.js';

interface Callback { Address: string; CallbackUrl: string; Secret: string; Status: number; CreatedTimestamp: number }
interface LogEntry { EventId: string; Timestamp: number; HttpStatus: number; LatencyMs: number; Error: string }

export function Callbacks(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const list = useAction<{ CallbackList: Callback[] }>(session, 'ListEmailCallbacks', {});
  const senders = useAction<{ EmailSenders: { EmailAddress: string }[] }>(session, 'ListEmailAddress', {});
  const [url, setUrl] = useState('');
  const [address, setAddress] = useState('');
  const { notice: message, attempt } = useAttempt();
  const set = (u: string, a: string) => attempt(async () => {
    await action(session, 'SetEmailCallback', { CallbackUrl: u, Address: a });
    list.reload();
  });
  return (
    <section aria-labelledby="callbacks-heading">
      <h2 id="callbacks-heading">{words.nav.callbacks}</h2>
      <form class="inline" onSubmit={(e) => { e.preventDefault(); void set(url.trim(), address).then(() => setUrl('')); }}>
        <label for="callback-url">{words.callbackUrl}</label>
        <input id="callback-url" type="url" required value={url} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
        <label for="callback-address">{words.forAddress}</label>
        <select id="callback-address" value={address} onChange={(e) => setAddress((e.target as HTMLSelectElement).value)}>
          <option value="">{words.accountLevel}</option>
          {(senders.data?.EmailSenders ?? []).map((s) => <option key={s.EmailAddress} value={s.EmailAddress}>{s.EmailAddress}</option>)}
        </select>
        <button type="submit">{words.setCallback}</button>
      </form>
      {(message ?? list.error) && <p role="alert" class="error">{message ?? list.error}</p>}
      {list.data && (list.data.CallbackList.length === 0 ? <p>{words.none}</p> : list.data.CallbackList.map((c) => (
        <CallbackCard key={c.Address} session={session} words={words} callback={c} onSet={set} />
      )))}
    </section>
  );
}

function CallbackCard(props: { session: Session; words: Words; callback: Callback; onSet: (url: string, address: string) => Promise<void> }) {
  const { session, words, callback: c } = props;
  const [shown, setShown] = useState(false);
  const log = useAction<{ LogList: LogEntry[] }>(session, 'ListEmailCallbackLogs', { Address: c.Address, Limit: 20 }, [c.Address, c.CallbackUrl]);
  const who = c.Address || words.accountLevel;
  return (
    <section class="detail" aria-label={`${words.nav.callbacks}: ${who}`}>
      <h3>{who}</h3>
      <p><code>{c.CallbackUrl}</code> — {c.Status === 1 ? words.active : words.disabled}</p>
      <p>
        {words.secret}: <code data-secret>{shown ? c.Secret : '••••••••'}</code>
        <button type="button" onClick={() => setShown(!shown)}>{shown ? words.hide : words.reveal}</button>
        <CopyButton words={words} text={c.Secret} />
      </p>
      {c.Status !== 1 && <button type="button" onClick={() => { void props.onSet(c.CallbackUrl, c.Address); }}>{words.enable}</button>}
      <button type="button" class="danger" aria-label={`${words.remove} ${who}`} onClick={() => { void props.onSet('', c.Address); }}>{words.remove}</button>
      <button type="button" onClick={log.reload}>{words.refresh}</button>
      <h4>{words.deliveryLog}</h4>
      {log.data && (log.data.LogList.length === 0 ? <p>{words.none}</p> : (
        <table aria-label={`${words.deliveryLog}: ${who}`}>
          <thead><tr><th scope="col">{words.requested}</th><th scope="col">webhook-id</th><th scope="col">HTTP</th><th scope="col">ms</th><th scope="col">{words.error}</th></tr></thead>
          <tbody>
            {log.data.LogList.map((l) => (
              <tr key={`${l.EventId}${l.Timestamp}${l.HttpStatus}`}><td>{new Date(l.Timestamp * 1000).toLocaleString()}</td><td><code>{l.EventId}</code></td><td>{l.HttpStatus || '–'}</td><td>{l.LatencyMs}</td><td>{l.Error}</td></tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
