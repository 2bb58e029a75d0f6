/** Overview: today's figures, each sender domain's level and quota, the batch tasks running now. */
import { useEffect, useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import type { Words } from './i18n.js';
import { errorText } from './use-action.js';
import { dayFromNow as today } from './text.js';

interface Volume { RequestCount: number; DeliveredCount: number; BounceCount: number; OpenedCount: number }
interface Identity { IdentityName: string; CurrentReputationLevel: number; DailyQuota: number; SendingEnabled: boolean }
/** Domains whose use of the quota is looked up (one call each, within the per-action rate limit); an account with more sees the first ones. */
const MAX_DOMAIN_FIGURES = 10;
interface Task { TaskId: number; TaskStatus: number; RequestCount: number; SendCount: number; FromEmailAddress: string }


export function Overview(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const [volume, setVolume] = useState<Volume | null>(null);
  const [identities, setIdentities] = useState<Identity[] | null>(null);
  const [tasks, setTasks] = useState<Task[] | null>(null);
  /** Each shown domain's mail today, as its quota counts it. */
  const [used, setUsed] = useState<Record<string, number>>({});
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const fail = (e: unknown) => setError(errorText(e));
    action<{ OverallVolume: Volume }>(session, 'GetStatisticsReport', { StartDate: today(session.timeZone), EndDate: today(session.timeZone) }).then((r) => setVolume(r.OverallVolume), fail);
    action<{ EmailIdentities: Identity[] }>(session, 'ListEmailIdentities').then((r) => {
      setIdentities(r.EmailIdentities);
      for (const d of r.EmailIdentities.slice(0, MAX_DOMAIN_FIGURES)) {
        action<{ OverallVolume: Volume }>(session, 'GetStatisticsReport', { StartDate: today(session.timeZone), EndDate: today(session.timeZone), Domain: d.IdentityName })
          .then((v) => setUsed((u) => ({ ...u, [d.IdentityName]: v.OverallVolume.RequestCount })), fail);
      }
    }, fail);
    action<{ Data: Task[] }>(session, 'ListSendTasks', { Offset: 0, Limit: 100, Status: 5 }).then((r) => setTasks(r.Data), fail);
  }, [session]);
  return (
    <section aria-labelledby="overview-heading">
      <h2 id="overview-heading">{words.nav.overview}</h2>
      {error && <p role="alert" class="error">{error}</p>}
      <h3>{words.today}</h3>
      {volume ? (
        <dl class="figures">
          <div><dt>{words.sent}</dt><dd data-figure="sent">{volume.RequestCount}</dd></div>
          <div><dt>{words.delivered}</dt><dd data-figure="delivered">{volume.DeliveredCount}</dd></div>
          <div><dt>{words.bounced}</dt><dd data-figure="bounced">{volume.BounceCount}</dd></div>
          <div><dt>{words.opened}</dt><dd data-figure="opened">{volume.OpenedCount}</dd></div>
        </dl>
      ) : <p>{words.loading}</p>}
      <h3>{words.domainsHeading}</h3>
      {identities === null ? <p>{words.loading}</p> : identities.length === 0 ? <p>{words.none}</p> : (
        <table>
          <thead><tr><th scope="col">{words.nav.domains}</th><th scope="col">{words.level}</th><th scope="col">{words.quota}</th><th scope="col">{words.usedToday}</th></tr></thead>
          <tbody>
            {identities.map((d) => (
              <tr key={d.IdentityName}><td>{d.IdentityName}</td><td>{d.CurrentReputationLevel}</td><td>{d.DailyQuota === 0 ? words.unlimited : d.DailyQuota}</td><td data-used={d.IdentityName}>{used[d.IdentityName] ?? '…'}</td></tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>{words.tasksRunning}</h3>
      {tasks === null ? <p>{words.loading}</p> : tasks.length === 0 ? <p>{words.none}</p> : (
        <ul>{tasks.map((t) => <li key={t.TaskId}>#{t.TaskId} {t.FromEmailAddress}: {t.SendCount} / {t.RequestCount}</li>)}</ul>
      )}
    </section>
  );
}
