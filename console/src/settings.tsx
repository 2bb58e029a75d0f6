/**
 * Settings: the account's API keys (create, with the new SecretKey shown this once; revoke any but
 * the one this session signed in with), whether new mail is tracked (opens and clicks), and what
 * the operator decides (template review, mail without a template).
 */
import { useEffect, useState } from 'preact/hooks';
import { action, type Session } from './api.js';
import { CopyButton } from './copy.js';
import type { Words } from './i18n.js';
import { errorText, useAction } from './use-action.js';

interface ApiKey { SecretId: string; CreatedTimestamp: number; Current: boolean }

export function Settings(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const keys = useAction<{ ApiKeyList: ApiKey[]; TotalCount: number }>(session, 'ListApiKeys', {});
  const settings = useAction<{ Tracking: number; TemplateReview: number; Simple: number }>(session, 'GetAccountSettings', {});
  const [created, setCreated] = useState<{ SecretId: string; SecretKey: string } | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = async (work: () => Promise<void>) => {
    try { await work(); setError(null); } catch (err) { setError(errorText(err)); setMessage(null); }
  };
  const create = () => run(async () => {
    setCreated(await action<{ SecretId: string; SecretKey: string }>(session, 'CreateApiKey'));
    setMessage(null);
    keys.reload();
  });
  const revoke = (secretId: string) => run(async () => {
    if (!confirm(`${words.revoke} ${secretId}?`)) return;
    await action(session, 'DeleteApiKey', { SecretId: secretId });
    if (created?.SecretId === secretId) setCreated(null);
    setMessage(`${words.revoked} ${secretId}`);
    keys.reload();
  });
  // The box shows what was asked while the change is on its way (a controlled box would otherwise
  // be set back to the old value by any render before the answer), and what the server says after.
  const [trackingAsked, setTrackingAsked] = useState<boolean | null>(null);
  useEffect(() => { setTrackingAsked(null); }, [settings.data]);
  const track = (on: boolean) => {
    setTrackingAsked(on);
    // Read again whatever the answer: the new settings.data clears what was asked.
    return run(async () => {
      await action(session, 'UpdateAccountSettings', { Tracking: on ? 1 : 0 });
      setMessage(on ? words.trackingOn : words.trackingOff);
    }).then(settings.reload);
  };
  const shown = error ?? keys.error ?? settings.error;
  return (
    <section aria-labelledby="settings-heading">
      <h2 id="settings-heading">{words.nav.settings}</h2>
      {shown && <p role="alert" class="error">{shown}</p>}
      {message && <p role="status">{message}</p>}
      <h3>{words.apiKeys}</h3>
      <button type="button" onClick={() => { void create(); }}>{words.createKey}</button>
      {created && (
        <div class="detail" role="region" aria-label={words.newKey}>
          <p><strong>{words.newKeyOnce}</strong></p>
          <dl>
            <dt>SecretId</dt><dd><code data-new-secret-id>{created.SecretId}</code> <CopyButton words={words} text={created.SecretId} label={`${words.copy} SecretId`} /></dd>
            <dt>SecretKey</dt><dd><code data-new-secret-key>{created.SecretKey}</code> <CopyButton words={words} text={created.SecretKey} label={`${words.copy} SecretKey`} /></dd>
          </dl>
        </div>
      )}
      {keys.data && (
        <table aria-label={words.apiKeys}>
          <thead><tr><th scope="col">SecretId</th><th scope="col">{words.created}</th><th scope="col"><span class="sr-only">{words.actions}</span></th></tr></thead>
          <tbody>
            {keys.data.ApiKeyList.map((k) => (
              <tr key={k.SecretId}>
                <td><code>{k.SecretId}</code>{k.Current && <small> ({words.thisSession})</small>}</td>
                <td>{new Date(k.CreatedTimestamp * 1000).toLocaleString()}</td>
                <td>
                  {k.Current ? <small>{words.cannotRevokeCurrent}</small>
                    : <button type="button" class="danger" aria-label={`${words.revoke} ${k.SecretId}`} onClick={() => { void revoke(k.SecretId); }}>{words.revoke}</button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>{words.tracking}</h3>
      <p>{words.trackingHelp}</p>
      {settings.data && (
        <label>
          <input type="checkbox" checked={trackingAsked ?? settings.data.Tracking === 1} onChange={(e) => { void track((e.target as HTMLInputElement).checked); }} /> {words.trackOpensClicks}
        </label>
      )}
      {settings.data && (
        <>
          <h3>{words.setByOperator}</h3>
          <dl>
            <dt>{words.templateReview}</dt><dd data-setting="review">{settings.data.TemplateReview === 1 ? words.yes : words.no}</dd>
            <dt>{words.simpleAllowed}</dt><dd data-setting="simple">{settings.data.Simple === 1 ? words.yes : words.no}</dd>
          </dl>
        </>
      )}
    </section>
  );
}
