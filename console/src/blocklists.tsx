/** Blocklists: the hard-bounce list (remove), the account's own list (add with expiry, remove), and complaints (GetAbuseReport). */
import { useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import type { Words } from './i18n.js';
import { dayFromNow as day } from './text.js';
import { errorText, useAction } from './use-action.js';

interface Bounce { BounceTime: string; EmailAddress: string; IspDesc: string }
interface Custom { Id: number; Email: string; CreateTime: string; ExpireDate: string; Status: number }
interface Complaint { ComplainTime: string; OriginalRcptTo: string; OriginalMailFrom: string; SourceIp: string; Subject: string }


export function Blocklists(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const bounces = useAction<{ BlackList: Bounce[]; TotalCount: number }>(session, 'ListBlackEmailAddress', { StartDate: day(session.timeZone, -29), EndDate: day(session.timeZone, 0), Limit: 100, Offset: 0 });
  const custom = useAction<{ Data: Custom[]; TotalCount: number }>(session, 'ListCustomBlacklist', { Offset: 0, Limit: 100, Status: 2 });
  const complaints = useAction<{ Data: Complaint[]; TotalCount: number }>(session, 'GetAbuseReport', { StartTime: day(session.timeZone, -29), EndTime: day(session.timeZone, 0), Limit: 100 });
  const [emails, setEmails] = useState('');
  const [expire, setExpire] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const run = async (name: string, params: Record<string, unknown>, after: () => void) => {
    try { await action(session, name, params); setMessage(null); after(); } catch (err) { setMessage(errorText(err)); }
  };
  const add = (e: Event) => {
    e.preventDefault();
    const list = emails.split(/[\s,;]+/).filter(Boolean);
    void run('CreateCustomBlacklist', { Emails: list, ...(expire ? { ExpireDate: expire } : {}) }, () => { setEmails(''); custom.reload(); });
  };
  return (
    <section aria-labelledby="blocklists-heading">
      <h2 id="blocklists-heading">{words.nav.blocklists}</h2>
      {message && <p role="alert" class="error">{message}</p>}

      <h3>{words.customList}</h3>
      <form class="inline" onSubmit={add}>
        <label for="block-emails">{words.addressesToBlock}</label>
        <input id="block-emails" required value={emails} onInput={(e) => setEmails((e.target as HTMLInputElement).value)} />
        <label for="block-expire">{words.expireDate}</label>
        <input id="block-expire" type="date" value={expire} onInput={(e) => setExpire((e.target as HTMLInputElement).value)} />
        <button type="submit">{words.add}</button>
      </form>
      {custom.error && <p role="alert" class="error">{custom.error}</p>}
      {custom.data && (custom.data.Data.length === 0 ? <p>{words.none}</p> : (
        <table aria-label={words.customList}>
          <thead><tr><th scope="col">{words.address}</th><th scope="col">{words.expireDate}</th><th scope="col">{words.status}</th><th scope="col"><span class="sr-only">{words.actions}</span></th></tr></thead>
          <tbody>
            {custom.data.Data.map((c) => (
              <tr key={c.Id}>
                <td>{c.Email}</td><td>{c.ExpireDate || words.never}</td><td>{c.Status ? words.active : words.expired}</td>
                <td><button type="button" class="danger" aria-label={`${words.remove} ${c.Email}`} onClick={() => { void run('DeleteCustomBlackList', { Emails: [c.Email] }, custom.reload); }}>{words.remove}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}

      <h3>{words.bounceList}</h3>
      {bounces.data && (bounces.data.BlackList.length === 0 ? <p>{words.none}</p> : (
        <table aria-label={words.bounceList}>
          <thead><tr><th scope="col">{words.address}</th><th scope="col">{words.bounced}</th><th scope="col">{words.remoteReply}</th><th scope="col"><span class="sr-only">{words.actions}</span></th></tr></thead>
          <tbody>
            {bounces.data.BlackList.map((b) => (
              <tr key={b.EmailAddress}>
                <td>{b.EmailAddress}</td><td>{b.BounceTime}</td><td><code class="value">{b.IspDesc}</code></td>
                <td><button type="button" class="danger" aria-label={`${words.remove} ${b.EmailAddress}`} onClick={() => { void run('DeleteBlackList', { EmailAddressList: [b.EmailAddress] }, bounces.reload); }}>{words.remove}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}

      <h3>{words.complaints}</h3>
      {complaints.data && (complaints.data.Data.length === 0 ? <p>{words.none}</p> : (
        <table aria-label={words.complaints}>
          <thead><tr><th scope="col">{words.recipient}</th><th scope="col">{words.address}</th><th scope="col">{words.complained}</th><th scope="col">Source IP</th><th scope="col">{words.subject}</th></tr></thead>
          <tbody>
            {complaints.data.Data.map((c) => (
              <tr key={`${c.ComplainTime}${c.OriginalRcptTo}`}><td>{c.OriginalRcptTo}</td><td>{c.OriginalMailFrom}</td><td>{c.ComplainTime}</td><td>{c.SourceIp}</td><td>{c.Subject}</td></tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
