/**
 * Blocklists: the account's own list (add with an expiry, change the expiry, remove), the hard-bounce
 * list of the last 30 days (remove), and complaints (GetAbuseReport); each a page at a time.
 */
import { useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import type { Words } from './i18n.js';
import { Pager } from './pager.js';
import { dayFromNow as day } from './text.js';
import { useAction, useAttempt } from './use-action.js';

interface Bounce { BounceTime: string; EmailAddress: string; IspDesc: string }
interface Custom { Id: number; Email: string; CreateTime: string; ExpireDate: string; Status: number }
interface Complaint { ComplainTime: string; OriginalRcptTo: string; OriginalMailFrom: string; SourceIp: string; Subject: string }
const PAGE = 50;

export function Blocklists(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const [pages, setPages] = useState({ custom: 0, bounces: 0, complaints: 0 });
  const turn = (list: keyof typeof pages) => (page: number) => setPages({ ...pages, [list]: page });
  const [from, to] = [day(session.timeZone, -29), day(session.timeZone, 0)];
  const bounces = useAction<{ BlackList: Bounce[]; TotalCount: number }>(session, 'ListBlackEmailAddress', { StartDate: from, EndDate: to, Limit: PAGE, Offset: pages.bounces * PAGE }, [pages.bounces]);
  const custom = useAction<{ Data: Custom[]; TotalCount: number }>(session, 'ListCustomBlacklist', { Offset: pages.custom * PAGE, Limit: PAGE, Status: 2 }, [pages.custom]);
  const complaints = useAction<{ Data: Complaint[]; TotalCount: number }>(session, 'GetAbuseReport', { StartTime: from, EndTime: to, Offset: pages.complaints * PAGE, Limit: PAGE }, [pages.complaints]);
  const [editing, setEditing] = useState<{ id: number; date: string } | null>(null);
  const [emails, setEmails] = useState('');
  const [expire, setExpire] = useState('');
  const { notice: message, attempt } = useAttempt();
  const run = (name: string, params: Record<string, unknown>, after: () => void) => attempt(async () => {
    await action(session, name, params);
    after();
  });
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
                <td>{c.Email}</td>
                <td>
                  {editing?.id === c.Id ? (
                    <form class="inline" onSubmit={(e) => { e.preventDefault(); void run('UpdateCustomBlackList', { Id: c.Id, Email: c.Email, ...(editing.date ? { ExpireDate: editing.date } : {}) }, () => { setEditing(null); custom.reload(); }); }}>
                      <input type="date" aria-label={`${words.expireDate} ${c.Email}`} value={editing.date} onInput={(e) => setEditing({ id: c.Id, date: (e.target as HTMLInputElement).value })} />
                      <button type="submit" aria-label={`${words.save} ${c.Email}`}>{words.save}</button>
                    </form>
                  ) : (c.ExpireDate || words.never)}
                </td>
                <td>{c.Status ? words.active : words.expired}</td>
                <td>
                  <button type="button" aria-label={`${words.edit} ${c.Email}`} onClick={() => setEditing({ id: c.Id, date: c.ExpireDate })}>{words.edit}</button>
                  <button type="button" class="danger" aria-label={`${words.remove} ${c.Email}`} onClick={() => { void run('DeleteCustomBlackList', { Emails: [c.Email] }, custom.reload); }}>{words.remove}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      {custom.data && <Pager words={words} page={pages.custom} size={PAGE} total={custom.data.TotalCount} onPage={turn('custom')} />}

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
      {bounces.data && <Pager words={words} page={pages.bounces} size={PAGE} total={bounces.data.TotalCount} onPage={turn('bounces')} />}

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
      {complaints.data && <Pager words={words} page={pages.complaints} size={PAGE} total={complaints.data.TotalCount} onPage={turn('complaints')} />}
    </section>
  );
}
