import { useEffect, useState } from 'preact/hooks';
import { ApiError, checkKey, session, whenUnauthorized } from './api';
import { DomainList } from './domain-list';
import { DomainPage } from './domain-page';
import { MessageLookup } from './message-lookup';
import { SuppressionsPage } from './suppressions-page';
import { WebhooksPage } from './webhooks-page';
import { ErrorNote, useAction } from './ui';

/** The page named by the URL's fragment: #/domains, #/domains/<id>, #/webhooks, … */
function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await action.run(() => checkKey(key.trim()));
    if (r.ok) {
      session.set(key.trim());
      onSignedIn();
    }
  };
  const refused = action.error instanceof ApiError && (action.error.status === 401 || action.error.status === 403);
  return (
    <main class="sign-in">
      <h1>mailwarden console</h1>
      <form onSubmit={submit} class="card">
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-describedby="api-key-help api-key-error"
        />
        <p id="api-key-help" class="help">
          Paste your account's API key. It stays in this tab only (sessionStorage) and is sent to this server's API alone.
        </p>
        <div id="api-key-error">{refused ? <p class="error" role="alert">That key was refused.</p> : <ErrorNote error={action.error} />}</div>
        <button type="submit" disabled={action.busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

const NAV = [
  ['domains', 'Domains'],
  ['webhooks', 'Webhooks'],
  ['suppressions', 'Suppressions'],
  ['messages', 'Messages'],
] as const;

export function App() {
  const [signedIn, setSignedIn] = useState(() => session.get() !== null);
  const route = useRoute();
  useEffect(() => {
    whenUnauthorized(() => {
      session.clear();
      setSignedIn(false);
    });
  }, []);
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;

  const [section = 'domains', id] = route;
  let page;
  if (section === 'domains' && id) page = <DomainPage id={id} key={id} />;
  else if (section === 'webhooks') page = <WebhooksPage />;
  else if (section === 'suppressions') page = <SuppressionsPage />;
  else if (section === 'messages') page = <MessageLookup initial={id ?? ''} />;
  else page = <DomainList />;

  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          // The fragment is the router's: move focus without changing it.
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">mailwarden</span>
        <nav aria-label="Sections">
          <ul>
            {NAV.map(([path, label]) => (
              <li key={path}>
                <a href={`#/${path}`} aria-current={section === path ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            session.clear();
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
