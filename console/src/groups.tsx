/**
 * Recipient groups: create, import a CSV (an address column, then one column per template
 * variable, named in the first row) in calls of up to 20,000 with a progress bar, page through the
 * details with each invalid row's reason, delete.
 */
import { useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import { parseCsv } from './csv.js';
import type { Words } from './i18n.js';
import { Pager } from './pager.js';
import { useAction, useAttempt } from './use-action.js';

interface Group { ReceiverId: number; ReceiversName: string; Count: number; InvalidCount: number; Desc: string; ReceiversStatus: number; CreateTime: string }
interface Detail { Email: string; CreateTime: string; TemplateData: string; Reason: string; Status: number }
/** Addresses one CreateReceiverDetailWithData call takes at most. */
const PER_CALL = 20_000;
const PAGE = 50;

export function Groups(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const [listPage, setListPage] = useState(0);
  const list = useAction<{ Data: Group[]; TotalCount: number }>(session, 'ListReceivers', { Offset: listPage * PAGE, Limit: PAGE }, [listPage]);
  const [name, setName] = useState('');
  const [open, setOpen] = useState<number | null>(null);
  const { notice: message, attempt } = useAttempt();
  const create = async (e: Event) => {
    e.preventDefault();
    await attempt(async () => {
      const r = await action<{ ReceiverId: number }>(session, 'CreateReceiver', { ReceiversName: name.trim() });
      setName('');
      setOpen(r.ReceiverId);
      list.reload();
    });
  };
  return (
    <section aria-labelledby="groups-heading">
      <h2 id="groups-heading">{words.nav.groups}</h2>
      <form class="inline" onSubmit={create}>
        <label for="group-name">{words.groupName}</label>
        <input id="group-name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <button type="submit">{words.createGroup}</button>
      </form>
      {(message ?? list.error) && <p role="alert" class="error">{message ?? list.error}</p>}
      {list.data && (list.data.Data.length === 0 ? <p>{words.none}</p> : (
        <table aria-label={words.nav.groups}>
          <thead><tr><th scope="col">ID</th><th scope="col">{words.groupName}</th><th scope="col">{words.addressCount}</th><th scope="col">{words.invalidCount}</th><th scope="col"><span class="sr-only">{words.actions}</span></th></tr></thead>
          <tbody>
            {list.data.Data.map((g) => (
              <tr key={g.ReceiverId}>
                <td>{g.ReceiverId}</td><td>{g.ReceiversName}</td><td>{g.Count}</td><td>{g.InvalidCount}</td>
                <td><button type="button" aria-label={`${words.openGroup} ${g.ReceiversName}`} onClick={() => setOpen(g.ReceiverId)}>{words.openGroup}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      {list.data && <Pager words={words} page={listPage} size={PAGE} total={list.data.TotalCount} onPage={setListPage} />}
      {open !== null && <GroupDetail key={open} session={session} words={words} id={open} onChanged={list.reload} onDeleted={() => { setOpen(null); list.reload(); }} />}
    </section>
  );
}

function GroupDetail(props: { session: Session; words: Words; id: number; onChanged: () => void; onDeleted: () => void }) {
  const { session, words, id } = props;
  const [page, setPage] = useState(0);
  const details = useAction<{ Data: Detail[]; TotalCount: number; ValidCount: number; InvalidCount: number }>(session, 'ListReceiverDetails', { ReceiverId: id, Offset: page * PAGE, Limit: PAGE }, [id, page]);
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const { notice: message, attempt } = useAttempt();
  const importCsv = async (e: Event) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    const rows = parseCsv(await file.text());
    const header = rows[0] ?? [];
    // A first row whose first field is no address names the data columns.
    const named = header.length > 0 && !header[0].includes('@');
    const columns = named ? header.slice(1) : header.slice(1).map((_, i) => `column${i + 2}`);
    const body = named ? rows.slice(1) : rows;
    setProgress({ done: 0, total: body.length });
    await attempt(async () => {
      for (let i = 0; i < body.length; i += PER_CALL) {
        const datas = body.slice(i, i + PER_CALL).map((r) => ({
          Email: (r[0] ?? '').trim(),
          TemplateData: JSON.stringify(Object.fromEntries(columns.map((c, j) => [c, r[j + 1] ?? '']))),
        }));
        await action(session, 'CreateReceiverDetailWithData', { ReceiverId: id, Datas: datas });
        setProgress({ done: Math.min(body.length, i + PER_CALL), total: body.length });
      }
      details.reload();
      props.onChanged();
    });
    input.value = '';
  };
  const remove = async () => {
    if (!confirm(`${words.delete} #${id}?`)) return;
    await attempt(async () => { await action(session, 'DeleteReceiver', { ReceiverId: id }); props.onDeleted(); });
  };
  const d = details.data;
  return (
    <section class="detail" aria-label={`${words.nav.groups} #${id}`}>
      <h3>#{id}</h3>
      <label for="group-csv">{words.importCsv}</label>
      <input id="group-csv" type="file" accept=".csv,text/csv" onChange={(e) => { void importCsv(e); }} />
      <small>{words.csvHelp}</small>
      {progress && <p><progress aria-label={words.importProgress} max={progress.total} value={progress.done} /> {progress.done} / {progress.total}</p>}
      {(message ?? details.error) && <p role="alert" class="error">{message ?? details.error}</p>}
      {d && <p data-counts>{words.validCount}: {d.ValidCount} · {words.invalidCount}: {d.InvalidCount}</p>}
      {d && d.Data.length > 0 && (
        <table aria-label={words.recipients}>
          <thead><tr><th scope="col">{words.address}</th><th scope="col">{words.variables}</th><th scope="col">{words.reason}</th></tr></thead>
          <tbody>{d.Data.map((r, i) => <tr key={`${r.Email}${i}`}><td>{r.Email}</td><td><code>{r.TemplateData}</code></td><td>{r.Reason}</td></tr>)}</tbody>
        </table>
      )}
      {d && <Pager words={words} page={page} size={PAGE} total={d.TotalCount} onPage={setPage} />}
      <button type="button" class="danger" onClick={() => { void remove(); }}>{words.delete}</button>
    </section>
  );
}
