/**
 * Batch tasks: create one (immediate, scheduled or recurring; times in the server's time zone,
 * which the form shows), list them with their progress from ListSendTasks, page by page, and
 * pause, resume or end them (UpdateSendTask). The list refreshes itself while a task is waiting
 * or sending.
 */
import { useEffect, useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import { useContentFields } from './content-fields.js';
import type { Words } from './i18n.js';
import { Pager } from './pager.js';
import { zonedNow } from './text.js';
import { useAction, useAttempt } from './use-action.js';

interface Task {
  TaskId: number; FromEmailAddress: string; ReceiverId: number; ReceiversName: string; TaskStatus: number; TaskType: number;
  RequestCount: number; SendCount: number; CacheCount: number; CreateTime: string; Subject: string; ErrMsg: string;
  TimedParam: { BeginTime: string } | null; CycleParam: { BeginTime: string; IntervalTime: number } | null;
}
const PAGE = 20;
/** How often the list is read again while a task is waiting or sending. */
const REFRESH_MS = 2_000;
/** TaskStatus of a task that may still change by itself: waiting (1), sending (5). */
const LIVE = new Set([1, 5]);
/** The operations UpdateSendTask allows from each status. */
const OPERATIONS: Record<number, readonly ('pause' | 'resume' | 'end')[]> = { 1: ['pause', 'end'], 5: ['pause', 'end'], 6: ['resume', 'end'] };

export function Tasks(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const [page, setPage] = useState(0);
  const list = useAction<{ Data: Task[]; TotalCount: number }>(session, 'ListSendTasks', { Offset: page * PAGE, Limit: PAGE }, [page]);
  const [creating, setCreating] = useState(false);
  const { notice: message, attempt } = useAttempt();
  const live = list.data?.Data.some((t) => LIVE.has(t.TaskStatus)) ?? false;
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(list.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [live]);
  const operate = async (t: Task, op: 'pause' | 'resume' | 'end') => {
    if (op === 'end' && !confirm(`${words.taskOps.end} #${t.TaskId}?`)) return;
    await attempt(async () => { await action(session, 'UpdateSendTask', { TaskId: t.TaskId, Operation: op }); list.reload(); });
  };
  const type = (n: number) => (n === 2 ? words.scheduled : n === 3 ? words.recurring : words.immediate);
  const begins = (t: Task) => t.TimedParam?.BeginTime ?? (t.CycleParam ? `${t.CycleParam.BeginTime} · ${words.every} ${t.CycleParam.IntervalTime} h` : '');
  return (
    <section aria-labelledby="tasks-heading">
      <h2 id="tasks-heading">{words.nav.tasks}</h2>
      <button type="button" onClick={() => setCreating(true)}>{words.newTask}</button>
      {(message ?? list.error) && <p role="alert" class="error">{message ?? list.error}</p>}
      {creating && <NewTask session={session} words={words} onDone={(created) => { setCreating(false); if (created) { setPage(0); list.reload(); } }} />}
      {list.data && (list.data.Data.length === 0 ? <p>{words.none}</p> : (
        <table aria-label={words.nav.tasks}>
          <thead>
            <tr>
              <th scope="col">ID</th><th scope="col">{words.subject}</th><th scope="col">{words.sender}</th><th scope="col">{words.group}</th>
              <th scope="col">{words.taskType}</th><th scope="col">{words.startAt}</th><th scope="col">{words.status}</th><th scope="col">{words.progress}</th>
              <th scope="col"><span class="sr-only">{words.actions}</span></th>
            </tr>
          </thead>
          <tbody>
            {list.data.Data.map((t) => (
              <tr key={t.TaskId} data-task={t.TaskId}>
                <td>{t.TaskId}</td><td>{t.Subject}</td><td>{t.FromEmailAddress}</td><td>{t.ReceiversName}</td><td>{type(t.TaskType)}</td><td>{begins(t)}</td>
                <td data-status={t.TaskStatus}>{words.taskStatus[t.TaskStatus as keyof Words['taskStatus']] ?? t.TaskStatus}{t.ErrMsg && <small class="error"> {t.ErrMsg}</small>}</td>
                <td>
                  <progress aria-label={`${words.progress} #${t.TaskId}`} max={Math.max(t.RequestCount, 1)} value={t.SendCount} />
                  {' '}<span data-progress>{t.SendCount} / {t.RequestCount}</span>
                </td>
                <td>
                  {(OPERATIONS[t.TaskStatus] ?? []).map((op) => (
                    <button key={op} type="button" class={op === 'end' ? 'danger' : undefined} aria-label={`${words.taskOps[op]} #${t.TaskId}`} onClick={() => { void operate(t, op); }}>{words.taskOps[op]}</button>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      {list.data && <Pager words={words} page={page} size={PAGE} total={list.data.TotalCount} onPage={setPage} />}
    </section>
  );
}

function NewTask(props: { session: Session; words: Words; onDone: (created: boolean) => void }) {
  const { session, words } = props;
  const content = useContentFields(session, words, 'task', { omitEmpty: true, variablesHelp: words.groupDataHelp });
  const groups = useAction<{ Data: { ReceiverId: number; ReceiversName: string; Count: number }[] }>(session, 'ListReceivers', { Offset: 0, Limit: 100 });
  const [group, setGroup] = useState('');
  const [taskType, setTaskType] = useState(1);
  const [begin, setBegin] = useState(() => zonedNow(session.timeZone, 10 * 60_000));
  const [hours, setHours] = useState('24');
  const [once, setOnce] = useState(false);
  const { notice: error, attempt } = useAttempt();
  const chosenGroup = group || String(groups.data?.Data[0]?.ReceiverId ?? '');
  const create = async (e: Event) => {
    e.preventDefault();
    const beginTime = `${begin.replace('T', ' ')}:00`.slice(0, 19);
    await attempt(async () => {
      await action(session, 'BatchSendEmail', {
        ...content.request(), ReceiverId: Number(chosenGroup), TaskType: taskType,
        ...(taskType === 2 ? { TimedParam: { BeginTime: beginTime } } : {}),
        ...(taskType === 3 ? { CycleParam: { BeginTime: beginTime, IntervalTime: Number(hours), ...(once ? { TermCycle: 1 } : {}) } } : {}),
      });
      props.onDone(true);
    });
  };
  const shown = error ?? content.error ?? groups.error;
  return (
    <form class="detail editor" onSubmit={create} aria-label={words.newTask}>
      {content.fields}
      <label for="task-group">{words.group}</label>
      <select id="task-group" value={chosenGroup} onChange={(e) => setGroup((e.target as HTMLSelectElement).value)}>
        {(groups.data?.Data ?? []).map((g) => <option key={g.ReceiverId} value={String(g.ReceiverId)}>{g.ReceiversName} ({g.Count})</option>)}
      </select>
      <fieldset>
        <legend>{words.taskType}</legend>
        {([[1, words.immediate], [2, words.scheduled], [3, words.recurring]] as const).map(([n, label]) => (
          <label key={n}><input type="radio" name="task-type" value={n} checked={taskType === n} onChange={() => setTaskType(n)} /> {label}</label>
        ))}
      </fieldset>
      {taskType !== 1 && (
        <>
          <label for="task-begin">{words.startAt}</label>
          <input id="task-begin" type="datetime-local" required value={begin} onInput={(e) => setBegin((e.target as HTMLInputElement).value)} />
          <small>{words.timesIn} {session.timeZone}</small>
        </>
      )}
      {taskType === 3 && (
        <>
          <label for="task-interval">{words.intervalHours}</label>
          <input id="task-interval" type="number" min={1} required value={hours} onInput={(e) => setHours((e.target as HTMLInputElement).value)} />
          <label><input type="checkbox" checked={once} onChange={(e) => setOnce((e.target as HTMLInputElement).checked)} /> {words.runOnce}</label>
        </>
      )}
      {shown && <p role="alert" class="error">{shown}</p>}
      <p>
        <button type="submit" disabled={!content.ready || !chosenGroup}>{words.createTask}</button>
        <button type="button" onClick={() => props.onDone(false)}>{words.cancel}</button>
      </p>
    </form>
  );
}
