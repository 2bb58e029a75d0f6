/**
 * Sender addresses: create (on a domain of the account), set the SMTP password, choose the
 * unsubscribe link every mail from the address carries (its language, or none), delete.
 */
import { useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import type { Words } from './i18n.js';
import { useAction, useAttempt } from './use-action.js';

interface Sender { EmailAddress: string; EmailSenderName: string; CreatedTimestamp: number; SmtpPwdType: number }
interface Unsubscribe { Address: string; UnsubscribeConfig: string; Status: number }
/** The unsubscribe link's languages, by UnsubscribeConfig (as the international SDK numbers them; "0" is no link). */
const LINK_LANGUAGES: readonly [string, string][] = [
  ['1', 'English'], ['2', '简体中文'], ['3', '繁體中文'], ['4', 'Español'], ['5', 'Français'], ['6', 'Deutsch'],
  ['7', '日本語'], ['8', '한국어'], ['9', 'العربية'], ['10', 'ไทย'], ['11', 'Bahasa Indonesia'],
];

export function Senders(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const list = useAction<{ EmailSenders: Sender[] }>(session, 'ListEmailAddress', {});
  const unsubscribes = useAction<{ AddressUnsubscribeConfigList: Unsubscribe[] }>(session, 'ListAddressUnsubscribeConfig', { Offset: 0, Limit: '100' });
  const unsubscribeOf = new Map((unsubscribes.data?.AddressUnsubscribeConfigList ?? []).map((u) => [u.Address, u]));
  const domains = useAction<{ EmailIdentities: { IdentityName: string; SendingEnabled: boolean }[] }>(session, 'ListEmailIdentities', {});
  const [prefix, setPrefix] = useState('');
  const [domain, setDomain] = useState('');
  const [senderName, setSenderName] = useState('');
  const { notice: message, attempt } = useAttempt();
  const verified = domains.data?.EmailIdentities.filter((d) => d.SendingEnabled) ?? [];
  const create = async (e: Event) => {
    e.preventDefault();
    await attempt(async () => {
      await action(session, 'CreateEmailAddress', { EmailAddress: `${prefix.trim()}@${domain || verified[0]?.IdentityName}`, EmailSenderName: senderName });
      setPrefix('');
      setSenderName('');
      list.reload();
    });
  };
  return (
    <section aria-labelledby="senders-heading">
      <h2 id="senders-heading">{words.nav.senders}</h2>
      <form class="inline" onSubmit={create}>
        <label for="sender-prefix">{words.prefix}</label>
        <input id="sender-prefix" required value={prefix} onInput={(e) => setPrefix((e.target as HTMLInputElement).value)} />
        <label for="sender-domain">{words.nav.domains}</label>
        <select id="sender-domain" value={domain || verified[0]?.IdentityName} onChange={(e) => setDomain((e.target as HTMLSelectElement).value)}>
          {verified.map((d) => <option key={d.IdentityName} value={d.IdentityName}>{d.IdentityName}</option>)}
        </select>
        <label for="sender-name">{words.senderName}</label>
        <input id="sender-name" value={senderName} onInput={(e) => setSenderName((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={verified.length === 0}>{words.createSender}</button>
      </form>
      {verified.length === 0 && domains.data && <p>{words.needVerifiedDomain}</p>}
      {(message ?? list.error) && <p role="alert" class="error">{message ?? list.error}</p>}
      {list.data === null ? <p>{words.loading}</p> : (
        <table>
          <thead><tr><th scope="col">{words.address}</th><th scope="col">{words.senderName}</th><th scope="col">{words.smtpPassword}</th><th scope="col">{words.unsubscribeLink}</th><th scope="col"><span class="sr-only">{words.actions}</span></th></tr></thead>
          <tbody>
            {list.data.EmailSenders.map((s) => <SenderRow key={s.EmailAddress} session={session} words={words} sender={s} unsubscribe={unsubscribeOf.get(s.EmailAddress)} onChanged={() => { list.reload(); unsubscribes.reload(); }} />)}
          </tbody>
        </table>
      )}
    </section>
  );
}

function SenderRow(props: { session: Session; words: Words; sender: Sender; unsubscribe?: Unsubscribe; onChanged: () => void }) {
  const { session, words, sender } = props;
  const [password, setPassword] = useState('');
  const { notice: message, attempt } = useAttempt();
  const id = `smtp-${sender.EmailAddress.replace(/[^a-z0-9]/gi, '-')}`;
  const setIt = async (e: Event) => {
    e.preventDefault();
    await attempt(async () => {
      await action(session, 'UpdateEmailSmtpPassWord', { EmailAddress: sender.EmailAddress, Password: password });
      setPassword('');
      props.onChanged();
      return words.passwordSet;
    });
  };
  // '' is no setting (the request decides); a language is a setting that is on.
  const link = props.unsubscribe?.Status === 1 ? props.unsubscribe.UnsubscribeConfig : '';
  const setLink = (value: string) => attempt(async () => {
    const params = { Address: sender.EmailAddress, UnsubscribeConfig: value, Status: 1 };
    if (value === '') await action(session, 'DeleteAddressUnsubscribeConfig', { Address: sender.EmailAddress });
    else await action(session, props.unsubscribe ? 'UpdateAddressUnsubscribeConfig' : 'CreateAddressUnsubscribeConfig', params);
    props.onChanged();
    return words.linkSaved;
  });
  const remove = async () => {
    if (!confirm(`${words.delete} ${sender.EmailAddress}?`)) return;
    await attempt(async () => {
      await action(session, 'DeleteEmailAddress', { EmailAddress: sender.EmailAddress });
      props.onChanged();
    });
  };
  return (
    <tr>
      <td>{sender.EmailAddress}</td>
      <td>{sender.EmailSenderName}</td>
      <td>
        <form class="inline" onSubmit={setIt}>
          <label for={id} class="sr-only">{`${words.smtpPassword} ${sender.EmailAddress}`}</label>
          <input id={id} type="password" autocomplete="new-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
          <button type="submit" aria-label={`${words.setPassword} ${sender.EmailAddress}`}>{words.setPassword}</button>
        </form>
        <small>{sender.SmtpPwdType ? words.passwordIsSet : words.passwordRule}</small>
        {message && <p role="status">{message}</p>}
      </td>
      <td>
        <select aria-label={`${words.unsubscribeLink} ${sender.EmailAddress}`} value={link} onChange={(e) => { void setLink((e.target as HTMLSelectElement).value); }}>
          <option value="">{words.linkByRequest}</option>
          {LINK_LANGUAGES.map(([v, name]) => <option key={v} value={v}>{name}</option>)}
        </select>
      </td>
      <td><button type="button" class="danger" aria-label={`${words.delete} ${sender.EmailAddress}`} onClick={remove}>{words.delete}</button></td>
    </tr>
  );
}
