/**
 * The Modelgraph console: React 19, Apollo Client 4 over the generated typed
 * documents (client/operations/console-*.graphql), uPlot for charts. Bundled
 * by scripts/build-console.mjs into dist/console and served at /console by the
 * local server and the Lambda function (src/console/serve.ts).
 */
import { ApolloProvider } from '@apollo/client/react';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { createClient } from './apollo';
import { AssetsPage } from './pages/AssetsPage';
import { ModelPage } from './pages/ModelPage';
import { ModelsPage } from './pages/ModelsPage';
import { PredictPage } from './pages/PredictPage';
import { Link, paths, useRoute, type Route } from './router';
import type { ConsoleConfig } from './serve';
import { SessionProvider, useSession } from './session';

function readConfig(): ConsoleConfig {
  const fallback: ConsoleConfig = { endpoint: '/graphql', writeEndpoint: '/graphql', tokenHint: '', graphiql: null };
  try {
    const text = document.getElementById('console-config')?.textContent ?? '';
    return { ...fallback, ...(JSON.parse(text) as Partial<ConsoleConfig>) };
  } catch {
    return fallback;
  }
}

function TokenBox({ hint }: { hint: string }) {
  const { token, caller, problem, checking, signIn, signOut } = useSession();
  const [draft, setDraft] = useState('');
  if (token)
    return (
      <div className="token" aria-live="polite">
        {checking ? (
          'Checking token…'
        ) : caller ? (
          <>
            Signed in as <strong>{caller.id}</strong>{' '}
            <span className="muted">({caller.scopes.join(', ') || 'no scopes'})</span>
          </>
        ) : (
          <span className="why">Token refused: {problem}</span>
        )}{' '}
        <button type="button" onClick={signOut}>
          Forget token
        </button>
      </div>
    );
  return (
    <form
      className="token"
      onSubmit={(e) => {
        e.preventDefault();
        if (draft.trim()) signIn(draft.trim());
      }}
    >
      <label>
        Token <span className="muted">(read-only without one)</span>
        <input
          type="password"
          autoComplete="off"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          title={hint}
          aria-describedby="token-hint"
        />
      </label>
      <button type="submit">Use token</button>
      <span id="token-hint" className="sr-only">
        {hint}
      </span>
    </form>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'assets':
      return <AssetsPage />;
    case 'models':
      return <ModelsPage />;
    case 'model':
      return <ModelPage id={route.id} />;
    case 'predict':
      return <PredictPage ticker={route.ticker} />;
    case 'not-found':
      return (
        <p className="empty">
          Nothing at <code>{route.path}</code>. Start from <Link href={paths.assets()}>Assets</Link>.
        </p>
      );
  }
}

function App({ config }: { config: ConsoleConfig }) {
  const route = useRoute();
  const current = (page: Route['page']) => (route.page === page ? 'page' : undefined);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href={paths.assets()} className="brand">
          Modelgraph
        </Link>
        <nav aria-label="Console">
          <Link href={paths.assets()} aria-current={current('assets')}>
            Assets
          </Link>
          <Link href={paths.models()} aria-current={current('models') ?? current('model')}>
            Models
          </Link>
          <Link href={paths.predict()} aria-current={current('predict')}>
            Try a prediction
          </Link>
          {config.graphiql ? <a href={config.graphiql}>GraphiQL</a> : null}
        </nav>
        <TokenBox hint={config.tokenHint} />
      </header>
      <main id="main">
        <Page route={route} />
      </main>
    </>
  );
}

const config = readConfig();
const client = createClient(config);
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ApolloProvider client={client}>
      <SessionProvider>
        <App config={config} />
      </SessionProvider>
    </ApolloProvider>
  </StrictMode>,
);
