/**
 * The Modelgraph GraphiQL page (GraphiQL 5, React 19, Monaco editors).
 *
 * Bundled by scripts/build-graphiql.mjs into dist/graphiql/ and served by
 * src/local/graphiql/serve.ts. Nothing here loads from outside the origin:
 * the stylesheet (with its inlined fonts) is bundled into app.css and the
 * three Monaco web workers are separate same-origin files next to app.js.
 */
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
// The stylesheet (`graphiql/style.css`, which includes Monaco's CSS and the
// fonts as data: URLs) is an entry point of its own in the build script, so
// this file has no CSS side-effect import for the type checker to reject.

export interface ModelgraphGraphiqlConfig {
  /** GraphQL endpoint, same origin (e.g. '/graphql'). */
  endpoint: string;
  /** Query shown in the first tab when nothing is stored yet. */
  defaultQuery: string;
  /** Page title. */
  title: string;
  /** Static headers sent with every request (the header editor's are added on top). */
  headers?: Record<string, string>;
}

declare global {
  interface Window {
    MODELGRAPH_CONFIG?: ModelgraphGraphiqlConfig;
  }
}

// --- Monaco workers -------------------------------------------------------
// GraphiQL's own setup-workers/* modules target Vite (`?worker`), webpack
// (`new URL(bare specifier)`) or esm.sh (a CDN). With esbuild the workers are
// extra entry points emitted next to app.js, so resolve them against this
// module's URL (/graphiql/app.js -> /graphiql/<label>.worker.js).
type MonacoEnvironmentLike = { getWorker(workerId: string, label: string): Worker };

function workerUrl(name: 'editor' | 'json' | 'graphql'): URL {
  return new URL(`./${name}.worker.js`, import.meta.url);
}

(globalThis as unknown as { MonacoEnvironment: MonacoEnvironmentLike }).MonacoEnvironment = {
  getWorker(_workerId, label) {
    switch (label) {
      case 'json':
        return new Worker(workerUrl('json'), { name: 'json' });
      case 'graphql':
        return new Worker(workerUrl('graphql'), { name: 'graphql' });
      default:
        return new Worker(workerUrl('editor'), { name: label || 'editor' });
    }
  },
};

// --- configuration ---------------------------------------------------------
const FALLBACK_CONFIG: ModelgraphGraphiqlConfig = {
  endpoint: '/graphql',
  defaultQuery: '',
  title: 'Modelgraph',
};

function readConfig(): ModelgraphGraphiqlConfig {
  if (window.MODELGRAPH_CONFIG) return { ...FALLBACK_CONFIG, ...window.MODELGRAPH_CONFIG };
  // The server injects the config as a JSON data block (not executed, so the
  // CSP needs no 'unsafe-inline' for scripts).
  const text = document.getElementById('modelgraph-config')?.textContent ?? '';
  try {
    const parsed = JSON.parse(text) as Partial<ModelgraphGraphiqlConfig>;
    return { ...FALLBACK_CONFIG, ...parsed };
  } catch {
    console.warn('modelgraph: no usable GraphiQL config in the page; using defaults');
    return FALLBACK_CONFIG;
  }
}

const config = readConfig();
window.MODELGRAPH_CONFIG = config;
if (config.title) document.title = config.title;

// --- URL state: ?query=&variables=&operationName= --------------------------
// Lets users share a link to an operation (headers are deliberately NOT put in
// the URL: they usually carry a bearer token).
const params = new URLSearchParams(window.location.search);

function updateUrl(key: string, value: string | undefined): void {
  const next = new URLSearchParams(window.location.search);
  if (value) next.set(key, value);
  else next.delete(key);
  const search = next.toString();
  const url = `${window.location.pathname}${search ? `?${search}` : ''}${window.location.hash}`;
  window.history.replaceState(null, '', url);
}

const fetcher = createGraphiQLFetcher({
  url: new URL(config.endpoint, window.location.href).toString(),
  headers: config.headers ?? {},
});

function App() {
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={config.defaultQuery || undefined}
      initialQuery={params.get('query') ?? undefined}
      initialVariables={params.get('variables') ?? undefined}
      onEditQuery={(q) => updateUrl('query', q)}
      onEditVariables={(v) => updateUrl('variables', v)}
      onEditOperationName={(name) => updateUrl('operationName', name)}
      // Paste `{"Authorization": "Bearer …"}` here for mutations. Not persisted
      // to localStorage unless the user opts in via the settings dialog.
      isHeadersEditorEnabled
      shouldPersistHeaders={false}
      // Doc explorer is GraphiQL's default reference plugin; schema
      // descriptions are shown there and in hover tooltips.
      schemaDescription
      inputValueDeprecation
    >
      <GraphiQL.Logo>{config.title}</GraphiQL.Logo>
    </GraphiQL>
  );
}

const container = document.getElementById('graphiql');
if (!container) throw new Error('modelgraph: #graphiql container missing');
container.replaceChildren();
createRoot(container).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
