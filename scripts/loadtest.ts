/**
 * Load test: the local server (`src/local/main.ts`, embedded S3, demo models) in
 * its own process on 127.0.0.1, under autocannon with a mix of predict,
 * predictMany, model, asset, deployment and shadow-agreement queries, while
 * promotions and rollbacks (with the write token) move production pointers
 * every few seconds. stocks/universal runs in shadow mode (v1.0.0 in staging)
 * with its counts flushed every second and compacted every 10 files, so the
 * shadow writes and compactions run under the load and the promotions too.
 *
 *   npm run loadtest                         3 minutes
 *   npm run loadtest -- --duration 30 --connections 16 --warmup 10 --promote-every 2
 *
 * Reports total requests, unexpected failures (anything but an answer, except
 * the CONFLICTs that concurrent promotions are meant to produce), latency
 * percentiles and the server's RSS sampled after warm-up. Exits non-zero when
 * a request failed unexpectedly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { DEMO_FEATURE_NAMES } from '../src/demo/strategies';
import { DEMO_ENSEMBLE_ASSETS, DEMO_ETFS, DEMO_STOCKS } from '../src/local/demoSeed';

export interface LoadTestOptions {
  durationSeconds: number;
  connections: number;
  /** RSS samples taken before this are not judged (sessions load, JIT warms up). */
  warmupSeconds: number;
  promoteEverySeconds: number;
  sampleEveryMs: number;
  log: (line: string) => void;
}

export interface LoadTestReport {
  durationSeconds: number;
  connections: number;
  totalRequests: number;
  /** Requests that did not get the answer they should: non-2xx, socket errors, timeouts, GraphQL errors, wrong data. */
  unexpectedFailures: number;
  failureSamples: string[];
  /** CONFLICTs from the concurrent promotions the test makes on purpose. */
  expectedConflicts: number;
  deployments: number;
  /** stocks/universal's shadow agreement at the end, per pair of versions (the server's own answer). */
  shadow: Array<{ productionVersion: string; stagingVersion: string; rows: number; agreements: number }>;
  requestsByKind: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; average: number };
  requestsPerSecond: number;
  rss: {
    /** [seconds since start, MiB] after warm-up */
    samples: Array<[number, number]>;
    firstMiB: number;
    lastMiB: number;
    minMiB: number;
    maxMiB: number;
    /** median of the last tenth of the samples minus median of the first tenth */
    growthMiB: number;
    /** least-squares slope */
    slopeMiBPerMinute: number;
  };
}

export const DEFAULT_OPTIONS: LoadTestOptions = {
  durationSeconds: 180,
  connections: 10,
  warmupSeconds: 20,
  promoteEverySeconds: 3,
  sampleEveryMs: 1_000,
  log: (line) => console.log(line),
};

// ---------------------------------------------------------------------------
// autocannon has no types; this is the part of its programmatic API used here.

interface Histogram {
  average: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}
interface CannonRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}
interface CannonOptions {
  url: string;
  connections: number;
  duration: number;
  timeout: number;
  requests: Array<
    CannonRequest & {
      setupRequest: (req: CannonRequest, context: Record<string, unknown>) => CannonRequest;
      onResponse: (status: number, body: string, context: Record<string, unknown>) => void;
    }
  >;
}
interface CannonResult {
  requests: Histogram & { total: number };
  latency: Histogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: CannonOptions) => Promise<CannonResult>;

// ---------------------------------------------------------------------------
// The request mix

const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VERSIONS = new Set(['v1.0.0', 'v1.1.0']);
// DIA is served by the demo ensemble: its rows fan out to three member models.
const TICKERS = [...Object.keys(DEMO_ETFS), ...Object.keys(DEMO_ENSEMBLE_ASSETS), ...Object.keys(DEMO_STOCKS)];
const MODEL_IDS = [
  ...Object.keys(DEMO_ETFS).map((t) => `etfs/${t}`),
  'stocks/universal',
  'universal/all_assets_classifier',
];

type Data = Record<string, any>;
interface Operation {
  kind: string;
  weight: number;
  bodies: string[];
  /** Whether `data` is the right answer (errors are already failures). */
  check: (data: Data, body: string) => boolean;
}

function features(i: number): Record<string, number> {
  const out: Record<string, number> = {};
  DEMO_FEATURE_NAMES.forEach((n, k) => {
    const x = Math.sin((i + 1) * 12.9898 + (k + 1) * 78.233) * 43758.5453;
    out[n] = Number(((x - Math.floor(x)) * 2 - 1).toFixed(4));
  });
  return out;
}

const body = (query: string, variables: Record<string, unknown> = {}) => JSON.stringify({ query, variables });
/** The shadow-mode model of the run, its staging version, and the query of its agreement. */
const SHADOW_MODEL = 'stocks/universal';
const SHADOW_STAGING = 'v1.0.0';
const SHADOW_QUERY = `{ model(id: "${SHADOW_MODEL}") { shadowAgreement { productionVersion stagingVersion rows agreements rate } } }`;
const pick = <T>(list: readonly T[], i: number) => list[i % list.length];

function operations(): Operation[] {
  const predict = `query($ticker: String!, $features: JSONObject!) { predict(ticker: $ticker, features: $features) { ticker strategy confidence version model { id } } }`;
  const predictMany = `query($requests: [PredictionRequest!]!) { predictMany(requests: $requests) { ticker strategy confidence version } }`;
  const model = `query($id: ID!) { model(id: $id) { id type production { version accuracy featureNames labels sha256 } staging { version } versions { version createdAt } assets { ticker } history(first: 5) { toVersion at } } }`;
  const isPrediction = (p: Data | undefined) =>
    typeof p?.strategy === 'string' && VERSIONS.has(p.version) && p.confidence > 0 && p.confidence <= 1;
  return [
    {
      kind: 'predict',
      weight: 45,
      bodies: Array.from({ length: 400 }, (_, i) =>
        body(predict, { ticker: pick(TICKERS, i * 7), features: features(i) }),
      ),
      check: (d, b) => isPrediction(d.predict) && d.predict.ticker === JSON.parse(b).variables.ticker,
    },
    {
      kind: 'predictMany',
      weight: 15,
      bodies: Array.from({ length: 60 }, (_, i) =>
        body(predictMany, {
          requests: Array.from({ length: 25 }, (_, k) => ({
            ticker: pick(TICKERS, i * 31 + k * 3),
            features: features(i * 25 + k),
          })),
        }),
      ),
      check: (d) => Array.isArray(d.predictMany) && d.predictMany.length === 25 && d.predictMany.every(isPrediction),
    },
    {
      kind: 'model',
      weight: 15,
      bodies: MODEL_IDS.map((id) => body(model, { id })),
      check: (d) => d.model !== null && VERSIONS.has(d.model.production?.version) && d.model.versions.length >= 1,
    },
    {
      kind: 'assets',
      weight: 10,
      bodies: [
        body(`{ assets { ticker kind model { id production { version } } } }`),
        body(`{ asset(ticker: "SPY") { name model { id production { version accuracy } } } }`),
      ],
      check: (d) => (d.assets ? d.assets.length === TICKERS.length : VERSIONS.has(d.asset?.model.production.version)),
    },
    {
      kind: 'shadowAgreement',
      weight: 5,
      bodies: [body(SHADOW_QUERY)],
      check: (d) =>
        Array.isArray(d.model?.shadowAgreement) &&
        d.model.shadowAgreement.every(
          (a: Data) =>
            VERSIONS.has(a.productionVersion) &&
            a.stagingVersion === SHADOW_STAGING &&
            a.rows > 0 &&
            a.agreements >= 0 &&
            a.agreements <= a.rows &&
            a.rate === a.agreements / a.rows,
        ),
    },
    {
      kind: 'models',
      weight: 5,
      bodies: [body(`{ models { id type production { version } staging { version } } }`)],
      check: (d) => d.models.length >= MODEL_IDS.length,
    },
    {
      kind: 'deployments',
      weight: 10,
      bodies: [
        body(`{ deployments(model: "etfs/SPY", first: 5) { id action fromVersion toVersion by at } }`),
        body(`{ deployments(model: "stocks/universal", first: 3) { toVersion } }`),
      ],
      check: (d) => Array.isArray(d.deployments) && d.deployments.length >= 1,
    },
  ];
}

// ---------------------------------------------------------------------------
// The server under test, in its own process

interface ServerProcess {
  child: ChildProcess;
  graphqlUrl: string;
  output: () => string;
  rssMiB: () => number;
  stop: () => Promise<void>;
}

async function startServer(token: string, log: (line: string) => void): Promise<ServerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'modelgraph-loadtest-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', 'tsx', 'src/local/main.ts'], {
    cwd: PROJECT,
    env: {
      ...process.env,
      PORT: '0',
      MODELGRAPH_DATA_DIR: dataDir,
      MODELGRAPH_WRITE_TOKEN: token,
      NODE_ENV: 'production',
      SHADOW_FLUSH_SECONDS: '1',
      SHADOW_COMPACT_FILES: '10',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const started = Date.now();
  let match: RegExpExecArray | null;
  while (!(match = /GraphQL\s+http:\/\/localhost:(\d+)\/graphql/.exec(output))) {
    if (child.exitCode !== null || Date.now() - started > 60_000)
      throw new Error(`the local server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  log(`server pid ${child.pid} listening on 127.0.0.1:${match[1]} (started in ${Date.now() - started} ms)`);
  return {
    child,
    graphqlUrl: `http://127.0.0.1:${match[1]}/graphql`,
    output: () => output,
    rssMiB: () => rssOf(child.pid!),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function rssOf(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
    return Number(kb) / 1024;
  } catch {
    return (
      Number(
        execFileSync('ps', ['-o', 'rss=', '-p', String(pid)])
          .toString()
          .trim(),
      ) / 1024
    );
  }
}

// ---------------------------------------------------------------------------

export async function runLoadTest(partial: Partial<LoadTestOptions> = {}): Promise<LoadTestReport> {
  const opts = { ...DEFAULT_OPTIONS, ...partial };
  const { log } = opts;
  const token = `mg_loadtest_${Math.random().toString(36).slice(2)}${Date.now()}`;
  const server = await startServer(token, log);
  const failures: string[] = [];
  let unexpected = 0;
  let conflicts = 0;
  let deployments = 0;
  let deploymentRequests = 0;
  const byKind: Record<string, number> = {};
  const fail = (what: string) => {
    unexpected++;
    if (failures.length < 20) failures.push(what.slice(0, 400));
  };

  // Operations chosen by weight, deterministically spread over the run
  const ops = operations();
  const schedule: Operation[] = ops.flatMap((op) => Array(op.weight).fill(op));
  let next = 0;

  // RSS sampling
  const t0 = Date.now();
  const rssSamples: Array<[number, number]> = [];
  const sampler = setInterval(() => {
    try {
      rssSamples.push([Math.round((Date.now() - t0) / 100) / 10, Math.round(server.rssMiB() * 10) / 10]);
    } catch {
      // the process is gone; the run reports it as failures
    }
  }, opts.sampleEveryMs);

  // Promotions and rollbacks every few seconds, sometimes two at once (one may lose: CONFLICT)
  /** POST one operation to the server (with the write token for mutations); HTTP status and body. */
  type Answer = {
    status: number;
    json: { data?: Data; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  };
  const send = async (query: string, write: boolean): Promise<Answer> => {
    const res = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(write ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, json: (await res.json()) as Answer['json'] };
  };
  const answered = ({ status, json }: Answer) => status === 200 && !json.errors && json.data;
  const deploy = async (mutation: string): Promise<void> => {
    deploymentRequests++;
    try {
      const answer = await send(mutation, true);
      if (answered(answer)) deployments++;
      else if (answer.json.errors?.[0]?.extensions?.code === 'CONFLICT') conflicts++;
      else fail(`deployment: HTTP ${answer.status} ${JSON.stringify(answer.json.errors ?? answer.json)}`);
    } catch (err) {
      fail(`deployment: ${String(err)}`);
    }
  };
  /** Set-up and final reads: anything but an answer throws. */
  const post = async (query: string, write = false): Promise<Data> => {
    const answer = await send(query, write);
    if (!answered(answer))
      throw new Error(`${query}: HTTP ${answer.status} ${JSON.stringify(answer.json.errors ?? answer.json)}`);
    return answer.json.data!;
  };
  // Shadow mode on the model every stock shares: staging v1.0.0 shadows production whenever production is v1.1.0.
  await post(
    `mutation { promote(model: "${SHADOW_MODEL}", version: "${SHADOW_STAGING}", stage: STAGING, reason: "load test: shadow candidate") { toVersion } }`,
    true,
  );
  await post(
    `mutation { configureTraffic(model: "${SHADOW_MODEL}", shadow: true, reason: "load test: shadow under load") { generation } }`,
    true,
  );

  let round = 0;
  const pending = new Set<Promise<void>>();
  const deployer = setInterval(() => {
    const r = round++;
    const batch =
      r % 3 === 2
        ? [deploy(`mutation { rollback(model: "etfs/SPY", reason: "load test round ${r}") { toVersion } }`)]
        : [
            deploy(
              `mutation { promote(model: "etfs/SPY", version: "${r % 2 ? 'v1.0.0' : 'v1.1.0'}", reason: "load test round ${r}") { toVersion } }`,
            ),
          ];
    if (r % 2 === 0) {
      // two concurrent promotions of the model every stock shares
      batch.push(
        deploy(
          `mutation { promote(model: "stocks/universal", version: "v1.0.0", reason: "load test race A ${r}") { toVersion } }`,
        ),
      );
      batch.push(
        deploy(
          `mutation { promote(model: "stocks/universal", version: "v1.1.0", reason: "load test race B ${r}") { toVersion } }`,
        ),
      );
    }
    for (const p of batch) {
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
  }, opts.promoteEverySeconds * 1000);

  let result: CannonResult;
  try {
    log(
      `load: ${opts.connections} connections for ${opts.durationSeconds} s; deployments every ${opts.promoteEverySeconds} s`,
    );
    result = await autocannon({
      url: server.graphqlUrl,
      connections: opts.connections,
      duration: opts.durationSeconds,
      timeout: 10,
      requests: [
        {
          method: 'POST',
          path: '/graphql',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req, context) => {
            const op = schedule[next++ % schedule.length];
            const b = op.bodies[Math.floor(Math.random() * op.bodies.length)];
            context.op = op;
            context.body = b;
            return { ...req, body: b };
          },
          onResponse: (status, text, context) => {
            const op = context.op as Operation;
            byKind[op.kind] = (byKind[op.kind] ?? 0) + 1;
            let json: { data?: Data; errors?: unknown[] };
            try {
              json = JSON.parse(text);
            } catch {
              return fail(`${op.kind}: HTTP ${status}, not JSON: ${text.slice(0, 200)}`);
            }
            if (status !== 200 || json.errors || !json.data)
              return fail(`${op.kind}: HTTP ${status} ${JSON.stringify(json.errors ?? json)}`);
            try {
              if (!op.check(json.data, context.body as string)) fail(`${op.kind}: wrong answer ${text.slice(0, 300)}`);
            } catch (err) {
              fail(`${op.kind}: unreadable answer (${String(err)}) ${text.slice(0, 300)}`);
            }
          },
        },
      ],
    });
  } finally {
    clearInterval(deployer);
    await Promise.all(pending);
    clearInterval(sampler);
  }
  let shadow: LoadTestReport['shadow'] = [];
  try {
    shadow = (await post(SHADOW_QUERY)).model.shadowAgreement;
  } catch (err) {
    fail(`shadowAgreement at the end: ${String(err)}`);
  }
  const serverOutput = server.output();
  await server.stop();
  // A shadow flush or compaction that failed only logs a warning (production answers are unaffected): here it is a failure.
  for (const line of serverOutput.split('\n'))
    if (/shadow (agreement counts|count files) could not/.test(line)) fail(`server: ${line}`);

  // socket errors and timeouts never reach onResponse; non-2xx responses did and are counted there
  unexpected += result.errors;
  if (result.errors) failures.push(`${result.errors} connection errors (${result.timeouts} timeouts)`);

  const judged = rssSamples.filter(([t]) => t >= opts.warmupSeconds);
  const values = judged.map(([, v]) => v);
  const tenth = Math.max(1, Math.floor(values.length / 10));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const report: LoadTestReport = {
    durationSeconds: result.duration,
    connections: opts.connections,
    totalRequests: result.requests.total + deploymentRequests,
    unexpectedFailures: unexpected,
    failureSamples: failures,
    expectedConflicts: conflicts,
    deployments,
    shadow,
    requestsByKind: { ...byKind, deployments: deploymentRequests },
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      average: result.latency.average,
    },
    requestsPerSecond: Math.round(result.requests.average),
    rss: {
      samples: judged,
      firstMiB: values[0] ?? NaN,
      lastMiB: values.at(-1) ?? NaN,
      minMiB: Math.min(...values),
      maxMiB: Math.max(...values),
      growthMiB: Math.round((median(values.slice(-tenth)) - median(values.slice(0, tenth))) * 10) / 10,
      slopeMiBPerMinute: Math.round(slope(judged) * 60 * 100) / 100,
    },
  };
  if (unexpected > 0) log(`server output:\n${serverOutput.slice(-4_000)}`);
  return report;
}

function slope(points: Array<[number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

export function formatReport(r: LoadTestReport): string {
  const every = Math.max(1, Math.round(r.rss.samples.length / 18));
  const shown = r.rss.samples.filter((_, i) => i % every === 0 || i === r.rss.samples.length - 1);
  return [
    `duration            ${r.durationSeconds} s, ${r.connections} connections`,
    `total requests      ${r.totalRequests} (${Object.entries(r.requestsByKind)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
    `throughput          ${r.requestsPerSecond} req/s`,
    `unexpected failures ${r.unexpectedFailures}${r.failureSamples.length ? `\n  ${r.failureSamples.join('\n  ')}` : ''}`,
    `deployments         ${r.deployments} succeeded, ${r.expectedConflicts} expected CONFLICTs`,
    `shadow agreement    ${r.shadow.map((a) => `${a.productionVersion} vs ${a.stagingVersion}: ${a.agreements}/${a.rows} rows agree`).join('; ') || 'none'}`,
    `latency (ms)        p50 ${r.latencyMs.p50}, p90 ${r.latencyMs.p90}, p99 ${r.latencyMs.p99}, max ${r.latencyMs.max}, mean ${r.latencyMs.average.toFixed(2)}`,
    `server RSS (MiB)    after warm-up: first ${r.rss.firstMiB}, min ${r.rss.minMiB}, max ${r.rss.maxMiB}, last ${r.rss.lastMiB}; growth ${r.rss.growthMiB}, slope ${r.rss.slopeMiBPerMinute} MiB/min`,
    `  samples [s, MiB]  ${shown.map(([t, v]) => `${Math.round(t)}:${v}`).join('  ')}`,
  ].join('\n');
}

function parseArgs(argv: string[]): Partial<LoadTestOptions> {
  const out: Partial<LoadTestOptions> = {};
  const names: Record<string, keyof LoadTestOptions> = {
    '--duration': 'durationSeconds',
    '--connections': 'connections',
    '--warmup': 'warmupSeconds',
    '--promote-every': 'promoteEverySeconds',
  };
  for (let i = 0; i < argv.length; i++) {
    const key = names[argv[i]];
    const value = Number(argv[i + 1]);
    if (!key || !Number.isFinite(value) || value <= 0)
      throw new Error(
        `usage: loadtest [--duration s] [--connections n] [--warmup s] [--promote-every s] (at "${argv[i]}")`,
      );
    (out as Record<string, number>)[key] = value;
    i++;
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runLoadTest(parseArgs(process.argv.slice(2)))
    .then((report) => {
      console.log(`\n${formatReport(report)}`);
      process.exitCode = report.unexpectedFailures === 0 ? 0 : 1;
    })
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
