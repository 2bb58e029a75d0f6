/** Domains: create a sender domain, see the DNS records to publish (with copy buttons) and what DNS holds, verify, delete. */
import { useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import { CopyButton } from './copy.js';
import type { Words } from './i18n.js';
import { useAction, useAttempt } from './use-action.js';

interface Identity { IdentityName: string; SendingEnabled: boolean; CurrentReputationLevel: number; DailyQuota: number }
interface Record_ { Type: string; SendDomain: string; ExpectedValue: string; CurrentValue: string; Status: boolean }
interface Detail { VerifiedForSendingStatus: boolean; Attributes: Record_[]; DKIMOption: number }

export function Domains(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const list = useAction<{ EmailIdentities: Identity[] }>(session, 'ListEmailIdentities', {});
  const [name, setName] = useState('');
  const [dkim, setDkim] = useState('1');
  const { notice: message, attempt } = useAttempt();
  const [open, setOpen] = useState<string | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    await attempt(async () => {
      await action(session, 'CreateEmailIdentity', { EmailIdentity: name.trim(), DKIMOption: Number(dkim) });
      setOpen(name.trim().toLowerCase());
      setName('');
      list.reload();
    });
  };
  return (
    <section aria-labelledby="domains-heading">
      <h2 id="domains-heading">{words.nav.domains}</h2>
      <form class="inline" onSubmit={create}>
        <label for="new-domain">{words.domainName}</label>
        <input id="new-domain" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <label for="dkim-option">{words.dkimOption}</label>
        <select id="dkim-option" value={dkim} onChange={(e) => setDkim((e.target as HTMLSelectElement).value)}>
          <option value="1">RSA-2048</option>
          <option value="0">RSA-1024</option>
          <option value="2">RSA-2048 + Ed25519</option>
        </select>
        <button type="submit">{words.createDomain}</button>
      </form>
      {(message ?? list.error) && <p role="alert" class="error">{message ?? list.error}</p>}
      {list.data === null ? <p>{words.loading}</p> : list.data.EmailIdentities.length === 0 ? <p>{words.none}</p> : (
        <table>
          <thead><tr><th scope="col">{words.nav.domains}</th><th scope="col">{words.verified}</th><th scope="col">{words.level}</th><th scope="col"><span class="sr-only">{words.actions}</span></th></tr></thead>
          <tbody>
            {list.data.EmailIdentities.map((d) => (
              <tr key={d.IdentityName}>
                <td>{d.IdentityName}</td>
                <td>{d.SendingEnabled ? words.yes : words.no}</td>
                <td>{d.CurrentReputationLevel}</td>
                <td><button type="button" aria-label={`${words.dnsRecords}: ${d.IdentityName}`} onClick={() => setOpen(d.IdentityName)}>{words.dnsRecords}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && <DomainDetail key={open} session={session} words={words} name={open} onChanged={list.reload} onDeleted={() => { setOpen(null); list.reload(); }} />}
    </section>
  );
}

function DomainDetail(props: { session: Session; words: Words; name: string; onChanged: () => void; onDeleted: () => void }) {
  const { session, words, name } = props;
  const detail = useAction<Detail>(session, 'GetEmailIdentity', { EmailIdentity: name }, [name]);
  const { notice: message, attempt } = useAttempt();
  const verify = () => attempt(async () => {
    const r = await action<Detail>(session, 'UpdateEmailIdentity', { EmailIdentity: name });
    detail.reload();
    props.onChanged();
    return r.VerifiedForSendingStatus ? words.verifiedNow : words.notVerifiedYet;
  });
  const remove = async () => {
    if (!confirm(`${words.delete} ${name}?`)) return;
    await attempt(async () => {
      await action(session, 'DeleteEmailIdentity', { EmailIdentity: name });
      props.onDeleted();
    });
  };
  return (
    <section aria-labelledby="domain-detail-heading" class="detail">
      <h3 id="domain-detail-heading">{words.dnsRecords}: {name}</h3>
      {(message ?? detail.error) && <p role="status">{message ?? detail.error}</p>}
      {detail.data && (
        <table>
          <thead><tr><th scope="col">{words.type}</th><th scope="col">{words.host}</th><th scope="col">{words.value}</th><th scope="col">{words.inDns}</th></tr></thead>
          <tbody>
            {detail.data.Attributes.map((r) => (
              <tr key={`${r.Type}${r.SendDomain}`}>
                <td>{r.Type}</td>
                <td><code>{r.SendDomain}</code></td>
                <td>
                  <code class="value">{r.ExpectedValue}</code>
                  <CopyButton words={words} text={r.ExpectedValue} label={`${words.copy} ${r.Type} ${r.SendDomain}`} />
                </td>
                <td>{r.Status ? words.ok : words.missing}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button type="button" onClick={verify}>{words.verify}</button>
      <button type="button" class="danger" onClick={remove}>{words.delete}</button>
    </section>
  );
}
