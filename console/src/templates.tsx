/**
 * Templates: create from an uploaded HTML file or the editor, list with status and review reason,
 * preview with sample values in a sandboxed frame (no script runs, nothing is fetched: the page's
 * CSP holds inside it), edit, delete. Page by page, as the server pages.
 */
import { useMemo, useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import type { Words } from './i18n.js';
import { Pager } from './pager.js';
import { fromBase64, toBase64, VARIABLE, variablesOf } from './text.js';
import { useAction, useAttempt } from './use-action.js';

interface Meta { TemplateID: number; TemplateName: string; TemplateStatus: number; CreatedTimestamp: number; ReviewReason: string }
const PAGE = 20;

export function Templates(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const [page, setPage] = useState(0);
  const list = useAction<{ TemplatesMetadata: Meta[]; TotalCount: number }>(session, 'ListEmailTemplates', { Limit: PAGE, Offset: page * PAGE }, [page]);
  const [editing, setEditing] = useState<{ id: number | null; name: string; html: string; text: string } | null>(null);
  const { notice: message, attempt } = useAttempt();
  const status = (s: number) => (s === 0 ? words.approved : s === 1 ? words.pending : words.rejected);
  const open = async (id: number) => {
    await attempt(async () => {
      const t = await action<{ TemplateName: string; TemplateContent: { Html?: string; Text?: string } }>(session, 'GetEmailTemplate', { TemplateID: id });
      setEditing({ id, name: t.TemplateName, html: t.TemplateContent.Html ? fromBase64(t.TemplateContent.Html) : '', text: t.TemplateContent.Text ? fromBase64(t.TemplateContent.Text) : '' });
    });
  };
  const remove = async (id: number) => {
    if (!confirm(`${words.delete} #${id}?`)) return;
    await attempt(async () => { await action(session, 'DeleteEmailTemplate', { TemplateID: id }); list.reload(); });
  };
  const total = list.data?.TotalCount ?? 0;
  return (
    <section aria-labelledby="templates-heading">
      <h2 id="templates-heading">{words.nav.templates}</h2>
      <button type="button" onClick={() => setEditing({ id: null, name: '', html: '', text: '' })}>{words.newTemplate}</button>
      {(message ?? list.error) && <p role="alert" class="error">{message ?? list.error}</p>}
      {list.data && (
        <table>
          <thead><tr><th scope="col">ID</th><th scope="col">{words.templateName}</th><th scope="col">{words.status}</th><th scope="col">{words.reviewReason}</th><th scope="col"><span class="sr-only">{words.actions}</span></th></tr></thead>
          <tbody>
            {list.data.TemplatesMetadata.map((t) => (
              <tr key={t.TemplateID}>
                <td>{t.TemplateID}</td><td>{t.TemplateName}</td><td>{status(t.TemplateStatus)}</td><td>{t.ReviewReason}</td>
                <td>
                  <button type="button" aria-label={`${words.edit} ${t.TemplateName}`} onClick={() => { void open(t.TemplateID); }}>{words.edit}</button>
                  <button type="button" class="danger" aria-label={`${words.delete} ${t.TemplateName}`} onClick={() => { void remove(t.TemplateID); }}>{words.delete}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager words={words} page={page} size={PAGE} total={total} onPage={setPage} />
      {editing && <Editor key={editing.id ?? 'new'} session={session} words={words} start={editing} onDone={() => { setEditing(null); list.reload(); }} />}
    </section>
  );
}

function Editor(props: { session: Session; words: Words; start: { id: number | null; name: string; html: string; text: string }; onDone: () => void }) {
  const { session, words, start } = props;
  const [name, setName] = useState(start.name);
  const [html, setHtml] = useState(start.html);
  const [text, setText] = useState(start.text);
  const [samples, setSamples] = useState<Record<string, string>>({});
  const { notice: message, attempt } = useAttempt();
  const variables = useMemo(() => variablesOf(`${html}\n${text}`), [html, text]);
  const preview = useMemo(() => html.replace(VARIABLE, (_, v: string) => escapeHtml(samples[v] ?? `{{${v}}}`)), [html, samples]);
  const upload = async (e: Event) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) setHtml(await file.text());
  };
  const save = async (e: Event) => {
    e.preventDefault();
    const content: Record<string, string> = {};
    if (html) content.Html = toBase64(html);
    if (text) content.Text = toBase64(text);
    await attempt(async () => {
      if (start.id === null) await action(session, 'CreateEmailTemplate', { TemplateName: name, TemplateContent: content });
      else await action(session, 'UpdateEmailTemplate', { TemplateID: start.id, TemplateName: name, TemplateContent: content });
      props.onDone();
    });
  };
  return (
    <form class="detail editor" onSubmit={save} aria-label={words.templateEditor}>
      <label for="template-name">{words.templateName}</label>
      <input id="template-name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <label for="template-file">{words.htmlFile}</label>
      <input id="template-file" type="file" accept=".html,.htm,text/html" onChange={(e) => { void upload(e); }} />
      <label for="template-html">HTML</label>
      <textarea id="template-html" rows={8} value={html} onInput={(e) => setHtml((e.target as HTMLTextAreaElement).value)} />
      <label for="template-text">{words.plainText}</label>
      <textarea id="template-text" rows={4} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      {variables.length > 0 && (
        <fieldset>
          <legend>{words.sampleValues}</legend>
          {variables.map((v) => (
            <label key={v}>{v} <input aria-label={`${words.sampleValue} ${v}`} value={samples[v] ?? ''} onInput={(e) => setSamples({ ...samples, [v]: (e.target as HTMLInputElement).value })} /></label>
          ))}
        </fieldset>
      )}
      {html && <iframe title={words.preview} sandbox="" srcdoc={preview} class="preview" />}
      {message && <p role="alert" class="error">{message}</p>}
      <button type="submit">{words.save}</button>
    </form>
  );
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
