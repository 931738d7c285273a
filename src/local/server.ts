import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../config';
import { callerFromBearer } from '../graphql/auth';
import { createContext } from '../graphql/context';
import { createGraphQLServer } from '../graphql/server';
import { logger } from '../observability/logger';
import { createRuntime, type Runtime } from '../runtime';
import { createS3Client } from '../storage/s3Client';
import { registerSeededVersions, seedDemoBucket } from './demoSeed';
import { createGraphiqlHandler } from './graphiql/serve';
import { ConsoleBundle, createConsoleHandler } from '../console/serve';
import { DEFAULT_CONSOLE_DIST_DIR } from '../console/distDir';
import { createGraphQLHttpHandler } from './httpAdapter';
import { EMBEDDED_S3_CREDENTIALS } from './s3/credentials';
import { startEmbeddedS3, type EmbeddedS3 } from './s3/embeddedS3';
import { LOCAL_BUCKET, S3_ENDPOINT_FILE, SERVER_URL_FILE } from './localTarget';
import { LocalPrincipals } from './principals';

export { LOCAL_BUCKET, S3_ENDPOINT_FILE, SERVER_URL_FILE };

export const EXAMPLE_QUERY = `# Welcome to Modelgraph. Press the run button (or Ctrl-Enter).
# Which strategy does SPY's production model pick for these features?
# (Open the docs on the left to see every type and field.)
query PredictSpy {
  asset(ticker: "SPY") {
    name
    model { id production { version accuracy } }
  }
  predict(ticker: "SPY", features: { ${'__FEATURES__'} }) {
    strategy
    confidence
    version
    probabilities { label probability }
  }
}

# More to try — copy the predict above and change it:
#   predict(ticker: "DIA", …)         DIA is served by an ensemble: add
#                                     ensemble { voting members { model { id } version weight strategy confidence } }
#   predict(ticker: "SPY", …, model: "universal/volatility_predictor") { task outputs { name value } }
#   { models { id type production { version task labels targets } } }
#   { model(id: "etfs/SPY") { traffic { shadow canaryPercent } shadowAgreement { rows rate }
#       historyConnection(first: 5) { edges { node { action toVersion by at } } } } }
#
# Governance: who published each version, who approved it, what the policy asks before production.
#   { model(id: "etfs/SPY") { policy { rules { requireApproval minShadowAgreement } }
#       versionsConnection { edges { node { version approval { status publishedBy by } tags aliases lineage { gitCommit } } } } } }
#   mutation { approveVersion(model: "etfs/SPY", version: "v1.1.0", note: "backtest ok") { status by } }
#     (needs a models:approve principal other than the publisher; Headers tab: {"Authorization": "Bearer <token>"})
`;

/** GraphiQL's first lines under TRUSTED_DOCUMENTS=enforce: its queries are not trusted documents. */
export const ENFORCE_NOTE = `# TRUSTED_DOCUMENTS=enforce: this server runs only the documents of client/operations
# for anonymous callers. To run any query here (and load the docs), add a token under
# Headers: {"Authorization": "Bearer <a principal's token>"} (the admin token is in the data folder).

`;

export interface LocalServerOptions {
  /** HTTP port (0 = ephemeral). */
  port: number;
  host?: string;
  /** Where the embedded S3 server keeps its data and the local write token lives. */
  dataDir: string;
  /** Environment to read configuration from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Seed an empty embedded bucket with the demo models (default true). */
  seed?: boolean;
  maxBodyBytes?: number;
  /** Requests the embedded S3 server keeps in its log (tests read it; default 100,000). */
  s3RequestLogLimit?: number;
}

export interface LocalServer {
  url: string;
  graphqlUrl: string;
  /** The console (dist/console, built by scripts/build-console.mjs). */
  consoleUrl: string;
  /** The `admin` principal's token, when this process knows it (generated or configured). */
  writeToken: string;
  /** The named principals of the data folder (`modelgraph token add`). */
  principals: LocalPrincipals;
  runtime: Runtime;
  /** The embedded S3 server, when MODEL_BUCKET is not set. */
  s3?: EmbeddedS3;
  seeded: boolean;
  /** A bucket seeded by an earlier release got the demo models it lacked. */
  upgraded: boolean;
  close(): Promise<void>;
}

/**
 * The local server: GraphQL at /graphql, GraphiQL at /, on the embedded S3
 * server (seeded with demo models) unless MODEL_BUCKET names a real bucket.
 */
export async function startLocalServer(opts: LocalServerOptions): Promise<LocalServer> {
  const env = opts.env ?? process.env;
  let config = loadConfig(env);
  mkdirSync(opts.dataDir, { recursive: true });
  let s3: EmbeddedS3 | undefined;
  let runtime: Runtime;
  if (config.MODEL_BUCKET) {
    runtime = createRuntime(config);
  } else {
    s3 = await startEmbeddedS3({
      dataDir: join(opts.dataDir, 's3'),
      port: Number(env.S3_PORT ?? 0),
      requestLogLimit: opts.s3RequestLogLimit,
    });
    await s3.ensureBucket(LOCAL_BUCKET);
    config = { ...config, MODEL_BUCKET: LOCAL_BUCKET, S3_ENDPOINT: s3.endpoint };
    const s3Client = createS3Client({
      region: config.AWS_REGION,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: EMBEDDED_S3_CREDENTIALS,
      maxAttempts: config.S3_MAX_ATTEMPTS,
      connectionTimeoutMs: config.S3_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: config.S3_REQUEST_TIMEOUT_MS,
    });
    runtime = createRuntime(config, { s3Client, credentials: EMBEDDED_S3_CREDENTIALS });
  }
  const seeded = s3 && opts.seed !== false ? await seedDemoBucket(runtime.store, runtime.deployments) : false;
  // The seed wrote documents (the asset registry last) that reads during the seed may have cached as missing.
  if (seeded === 'seeded') await registerSeededVersions(runtime.registry, runtime.governance);
  if (seeded) runtime.registry.invalidate();
  const endpointFile = join(opts.dataDir, S3_ENDPOINT_FILE);
  if (s3) writeFileSync(endpointFile, `${s3.endpoint}\n`);
  const principals = new LocalPrincipals(opts.dataDir);
  const writeToken = principals.ensureAdmin(config.MODELGRAPH_WRITE_TOKEN);

  runtime.models.onLoad = (key, ms) => logger.info('model loaded', { model: key, loadMs: Math.round(ms * 100) / 100 });
  // Events and derived registry documents: catch up now (in the background) and every EVENTS_CATCHUP_SECONDS.
  runtime.events.start(config.EVENTS_CATCHUP_SECONDS);
  const apollo = createGraphQLServer({
    config,
    introspection: config.INTROSPECTION,
    maskInternalErrors: config.NODE_ENV === 'production',
    onInternalError: (err) => logger.error('internal error', err instanceof Error ? err : String(err)),
    onUntrustedDocument: (info) => logger.warn('untrusted document served (TRUSTED_DOCUMENTS=allow)', info),
  });
  await apollo.start();
  const graphql = createGraphQLHttpHandler(
    apollo,
    async (req) => createContext(runtime, callerFromBearer(req.headers.authorization, principals.credentials())),
    {
      maxBodyBytes: opts.maxBodyBytes ?? config.MAX_BODY_BYTES,
    },
  );
  const graphiql = createGraphiqlHandler({
    endpoint: '/graphql',
    defaultQuery: (config.TRUSTED_DOCUMENTS === 'enforce' ? ENFORCE_NOTE : '') + (await exampleQuery(runtime)),
  });
  // The console (/console): built by `npm start`'s prestart; answers 503 with the build command when missing.
  const consoleBundle = new ConsoleBundle(DEFAULT_CONSOLE_DIST_DIR, {
    endpoint: '/graphql',
    writeEndpoint: '/graphql',
    graphiql: config.GRAPHIQL ? '/' : null,
    tokenHint: `A principal's token: the admin's is in ${join(opts.dataDir, 'admin-token')}; add others with \`npm run modelgraph -- token add NAME --scope models:write\`.`,
  });
  const consolePage = createConsoleHandler(consoleBundle);

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/graphql') {
      graphql(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
          }),
        );
      });
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
      return;
    }
    if (consolePage(req, res)) return;
    if (!config.GRAPHIQL || !graphiql(req, res)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not found. GraphQL is at /graphql, GraphiQL at /.\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(opts.port, opts.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://localhost:${port}/`;
  const serverUrlFile = join(opts.dataDir, SERVER_URL_FILE);
  writeFileSync(serverUrlFile, `${url}graphql\n`);
  return {
    url,
    graphqlUrl: `${url}graphql`,
    consoleUrl: `${url}console`,
    writeToken: writeToken ?? '',
    principals,
    runtime,
    s3,
    seeded: seeded === 'seeded',
    upgraded: seeded === 'upgraded',
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await apollo.stop();
      await runtime.events.stop();
      runtime.models.clear();
      removeIfOurs(serverUrlFile, `${url}graphql`);
      if (s3) removeIfOurs(endpointFile, s3.endpoint);
      await s3?.close();
    },
  };
}

/** Removes the endpoint (or server URL) file unless another local server has since written its own. */
function removeIfOurs(file: string, endpoint: string): void {
  try {
    if (readFileSync(file, 'utf8').trim() === endpoint) rmSync(file);
  } catch {
    // Already gone.
  }
}

/** The GraphiQL default query, with real feature names of SPY's production model when there is one. */
async function exampleQuery(runtime: Runtime): Promise<string> {
  let names: string[] = ['iv_rank', 'rsi_14'];
  try {
    const pointer = await runtime.registry.stagePointer('etfs/SPY', 'PRODUCTION');
    if (pointer) names = await runtime.registry.featureNames('etfs/SPY', pointer.value);
  } catch {
    // The example stays generic when the bucket has no SPY model.
  }
  const features = names.map((n, i) => `${n}: ${(((i * 37) % 19) / 10 - 0.9).toFixed(1)}`).join(', ');
  return EXAMPLE_QUERY.replace('__FEATURES__', features);
}
