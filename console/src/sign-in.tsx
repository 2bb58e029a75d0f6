/** The sign-in form: SecretId, SecretKey, Sign in. Errors show Tencent's code and message. */
import { useState } from 'preact/hooks';
import { signIn, type Session } from './api.js';
import type { Words } from './i18n.js';
import { errorText } from './use-action.js';

export function SignIn(props: { words: Words; onSignedIn: (s: Session) => void; notice?: string }) {
  const { words } = props;
  const [secretId, setSecretId] = useState('');
  const [secretKey, setSecretKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await signIn(secretId.trim(), secretKey.trim()));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>{words.title}</h1>
      {props.notice && <p role="status">{props.notice}</p>}
      <p>{words.signInHelp}</p>
      <form onSubmit={submit}>
        <label for="secret-id">{words.secretId}</label>
        <input id="secret-id" name="SecretId" autocomplete="username" required value={secretId} onInput={(e) => setSecretId((e.target as HTMLInputElement).value)} />
        <label for="secret-key">{words.secretKey}</label>
        <input id="secret-key" name="SecretKey" type="password" autocomplete="current-password" required value={secretKey} onInput={(e) => setSecretKey((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={busy}>{words.signIn}</button>
        {error && <p role="alert" class="error">{error}</p>}
      </form>
    </main>
  );
}
