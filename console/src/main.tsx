/**
 * The console: sign-in, then a shell with the navigation of Tencent's console and the screen chosen
 * in the URL's hash (#/overview, #/domains, …). Every screen reads and writes through the account's
 * actions (api.ts); nothing here decides what the server decides.
 */
import { render, type FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentSession, SESSION_ENDED, signOut, type Session } from './api.js';
import { browserLanguage, wordsOf, type Language, type Words } from './i18n.js';
import { Domains } from './domains.js';
import { Overview } from './overview.js';
import { Senders } from './senders.js';
import { Templates } from './templates.js';
import { SendingStatus } from './status.js';
import { Blocklists } from './blocklists.js';
import { Statistics } from './statistics.js';
import { Callbacks } from './callbacks.js';
import { Send } from './send.js';
import { Groups } from './groups.js';
import { Tasks } from './tasks.js';
import { Settings } from './settings.js';
import { Outbox } from './outbox.js';
import { SignIn } from './sign-in.js';

/** The screens, in the navigation's order; the Outbox only when mail is captured. */
const SCREENS = ['overview', 'domains', 'senders', 'templates', 'send', 'groups', 'tasks', 'status', 'statistics', 'blocklists', 'callbacks', 'settings', 'outbox'] as const;
type Screen = (typeof SCREENS)[number];

/** Each screen's component; all take the session and the words. */
const VIEWS: Record<Screen, FunctionComponent<{ session: Session; words: Words }>> = {
  overview: Overview, domains: Domains, senders: Senders, templates: Templates, send: Send, groups: Groups, tasks: Tasks,
  status: SendingStatus, statistics: Statistics, blocklists: Blocklists, callbacks: Callbacks, settings: Settings, outbox: Outbox,
};

const screensOf = (s: Session): readonly Screen[] => (s.capture ? SCREENS : SCREENS.filter((x) => x !== 'outbox'));

const screenOf = (hash: string): Screen => {
  const name = hash.replace(/^#\/?/, '');
  return (SCREENS as readonly string[]).includes(name) ? name as Screen : 'overview';
};

function App() {
  const [language, setLanguage] = useState<Language>(() => (localStorage.getItem('sesame-language') as Language | null) ?? browserLanguage());
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [screen, setScreen] = useState<Screen>(screenOf(location.hash));
  const words = wordsOf(language);
  /** Why the sign-in form shows again, when it is not the first visit or a sign-out. */
  const [notice, setNotice] = useState<string | undefined>(undefined);
  useEffect(() => { currentSession().then(setSession, () => setSession(null)); }, []);
  useEffect(() => {
    const ended = () => { setSession(null); setNotice(words.sessionEnded); };
    addEventListener(SESSION_ENDED, ended);
    return () => removeEventListener(SESSION_ENDED, ended);
  }, [words]);
  useEffect(() => {
    const onHash = () => setScreen(screenOf(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => { document.documentElement.lang = language === 'zh' ? 'zh-CN' : 'en'; document.title = words.title; }, [language]);
  const choose = (l: Language) => { localStorage.setItem('sesame-language', l); setLanguage(l); };

  if (session === undefined) return <p>{words.loading}</p>;
  if (session === null) return <><LanguageSwitch words={words} language={language} onChange={choose} /><SignIn words={words} notice={notice} onSignedIn={(s) => { setNotice(undefined); setSession(s); }} /></>;
  // A screen this session does not have (the Outbox without capture) shows the Overview.
  const shown = screensOf(session).includes(screen) ? screen : 'overview';
  const View = VIEWS[shown];
  return (
    <div class="shell">
      <header>
        <strong>{words.title}</strong>
        <span>{words.account} {session.appId}</span>
        <LanguageSwitch words={words} language={language} onChange={choose} />
        <button type="button" onClick={() => { void signOut(session).finally(() => { setNotice(undefined); setSession(null); }); }}>{words.signOut}</button>
      </header>
      <nav aria-label={words.title}>
        <ul>
          {screensOf(session).map((s) => (
            <li key={s}><a href={`#/${s}`} aria-current={s === shown ? 'page' : undefined}>{words.nav[s]}</a></li>
          ))}
        </ul>
      </nav>
      <main>
        <View session={session} words={words} />
      </main>
    </div>
  );
}

function LanguageSwitch(props: { words: Words; language: Language; onChange: (l: Language) => void }) {
  return (
    <label class="language">
      {props.words.language}
      <select value={props.language} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value as Language)}>
        <option value="en">English</option>
        <option value="zh">简体中文</option>
      </select>
    </label>
  );
}

render(<App />, document.getElementById('app')!);
