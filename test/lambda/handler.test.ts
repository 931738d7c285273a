/**
 * The BUILT Lambda artifact, not the sources: `npm run build:lambda` runs once,
 * then a fresh Node process that sees only the bundle (a copy outside the
 * repository) and the pruned onnxruntime layer (via NODE_PATH, as Lambda puts
 * /opt/nodejs/node_modules there) imports the handler and invokes it with real
 * API Gateway event JSON (test/lambda/events/*.json), against the embedded S3
 * server seeded with the demo models. The same way: the events catch-up
 * (catchup.mjs) and the evaluation function (evaluate.mjs) with the chunk and
 * reduce events the evaluation state machine's definition builds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPTION_STRATEGIES } from '../../src/demo/strategies';
import { buildTreeEnsembleClassifier } from '../../src/demo/treeEnsemble';
import { DEMO_ENSEMBLE, DEMO_ENSEMBLE_MEMBERS, DEMO_RISK_MODEL, seedDemoBucket } from '../../src/local/demoSeed';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import type { Prediction } from '../../src/inference/predictor';
import { Deployments } from '../../src/registry/deployments';
import { readDeploymentHistory, readModelRegistry } from '../../src/registry/modelRegistryFeed';
import { readEvaluationDocument } from '../../src/evaluation/chunkScoring';
import { pushDataset } from '../../src/evaluation/datasets';
import { ChunkResultSchema } from '../../src/evaluation/evaluationRecords';
import { Evaluations } from '../../src/evaluation/evaluations';
import { evaluationChunkKey, evaluationKey, evaluationRunKey } from '../../src/evaluation/layout';
import { EMPTY_TALLY, mergeTallies, summarize, tallyRows } from '../../src/evaluation/metrics';
import type { EvaluationExecutionInput } from '../../src/evaluation/stepFunctionsExecutor';
import { publishVersion } from '../../src/registry/versionPublisher';
import { bareLabels, EVAL_FEATURES, EVAL_LABELS, knownRows, modelBytes, parquetOf } from '../evaluation/support';
import { EventBridgeStandIn } from '../events/eventBridgeStandIn';
import { parseTemplate, statesPayload, type JsonObject } from './support/cloudFormation';
import { startS3Fixture, TEST_BUCKET, type S3Fixture } from './support/s3Runtime';

const ROOT = join(import.meta.dirname, '../..');
const EVENTS = join(import.meta.dirname, 'events');
/** Values that must never reach a log line: the caller's bearer token and a feature value. */
const BEARER_TOKEN = 'eyJhbGciOiJSUzI1NiIsImtpZCI6Im1nLXRlc3Qta2V5In0';
const FEATURE_VALUE = '0.7316429';

const template = parseTemplate(readFileSync(join(ROOT, 'template.yaml'), 'utf8'));
const fnProps = template.Resources.GraphQLFunction.Properties as JsonObject;
const layerProps = template.Resources.OnnxRuntimeLayer.Properties as JsonObject;
const [handlerModule, handlerExport] = String(fnProps.Handler).split('.');

interface InitRecord {
  kind: 'init';
  importMs: number;
  sinceProcessStartMs: number;
  exportType: string;
  resolves: Record<string, string | null>;
}
interface ResultRecord {
  kind: 'result' | 'crash';
  event: string;
  requestId: string;
  ms: number;
  sinceProcessStartMs: number;
  result: { statusCode: number; headers: Record<string, string>; body: string };
  error?: string;
}
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  init: InitRecord;
  results: Map<string, ResultRecord>;
  order: ResultRecord[];
  /** stdout lines that are JSON (structured logs and EMF documents). */
  records: Array<Record<string, any>>;
}

let fx: S3Fixture;
let build: { status: number | null; stdout: string; stderr: string; ms: number };
let sandbox: string;
let main: Run;
let broken: Run;
let warmed: Run;
let governed: Run;

/** A version uploaded straight to the bucket (as a training pipeline would): the API registers it as the JWT's subject. */
const GOVERNED_MODEL = 'universal/gov_lambda';
const GOVERNED_FEATURES = ['iv_rank', 'rsi_14', 'skew', 'term_slope', 'vix'];
const GOVERNANCE_EVENTS = [
  'http-api-register-version',
  'http-api-approve-own-version',
  'http-api-approve-without-scope',
  'http-api-approve-version',
];

/** Runs events through the handler in one fresh process whose only code is the built bundle and layer. */
async function invoke(
  name: string,
  events: string[],
  env: Record<string, string>,
  entry: { module: string; export: string } = { module: handlerModule, export: handlerExport },
): Promise<Run> {
  const cacheDir = join(sandbox, `${name}-disk-cache`);
  const child = spawn(
    process.execPath,
    [
      join(sandbox, 'invoke.mjs'),
      join(sandbox, 'task', `${entry.module}.mjs`),
      entry.export,
      // A name of test/lambda/events, or an event file written by the test (an absolute path).
      ...events.map((e) => (isAbsolute(e) ? e : join(EVENTS, `${e}.json`))),
    ],
    {
      cwd: join(sandbox, 'task'),
      // A clean environment, like Lambda's: no NODE_OPTIONS, no NODE_EXTRA_CA_CERTS, nothing from this process.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: sandbox,
        TZ: 'UTC',
        NODE_PATH: join(sandbox, 'opt/nodejs/node_modules'),
        LAMBDA_TASK_ROOT: join(sandbox, 'task'),
        AWS_LAMBDA_FUNCTION_NAME: 'modelgraph-graphql',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
        AWS_LAMBDA_FUNCTION_VERSION: '1',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: EMBEDDED_S3_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
        NODE_ENV: 'production',
        MODEL_BUCKET: TEST_BUCKET,
        S3_ENDPOINT: fx.s3.endpoint,
        DISK_CACHE_DIR: cacheDir,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    },
  );
  const collect = (stream: NodeJS.ReadableStream | null) => {
    const chunks: Buffer[] = [];
    stream?.on('data', (c: Buffer) => chunks.push(c));
    return () => Buffer.concat(chunks).toString('utf8');
  };
  const [stdout, stderr, fd3] = [
    collect(child.stdout),
    collect(child.stderr),
    collect(child.stdio[3] as NodeJS.ReadableStream),
  ];
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const lines = fd3()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const order = lines.filter((l) => l.kind !== 'init') as ResultRecord[];
  // Powertools writes INFO/DEBUG to stdout and WARN/ERROR/CRITICAL to stderr; EMF goes to stdout.
  const records = (stdout() + '\n' + stderr())
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  if (!lines[0]) throw new Error(`the runner did not start:\n${stderr()}`);
  return {
    code,
    stdout: stdout(),
    stderr: stderr(),
    init: lines[0],
    results: new Map(order.map((r) => [r.event, r])),
    order,
    records,
  };
}

function response(run: Run, event: string) {
  const r = run.results.get(event);
  if (!r) throw new Error(`no result for ${event}`);
  if (r.kind === 'crash') throw new Error(`${event} crashed the handler: ${r.error}`);
  const body = r.result.body;
  return {
    status: r.result.statusCode,
    headers: r.result.headers,
    body,
    json: JSON.parse(body) as { data?: any; errors?: any[] },
    record: r,
  };
}

/** The "graphql request" log line of one invocation. */
function requestLog(run: Run, event: string) {
  const { requestId } = run.results.get(event)!;
  const line = run.records.find((r) => r.message === 'graphql request' && r.function_request_id === requestId);
  if (!line) throw new Error(`no request log for ${event}`);
  return line;
}

/** The EMF document flushed at the end of one invocation. */
function emf(run: Run, event: string) {
  const { requestId } = run.results.get(event)!;
  return run.records.find((r) => r._aws && r.requestId === requestId);
}

const MAIN_EVENTS = [
  'http-api-predict',
  'http-api-predict-warm',
  'http-api-predict-many',
  'http-api-mutation-anonymous',
  'http-api-mutation-without-scope',
  'http-api-mutation-authorized',
  'http-api-predict-after-rollback',
  'http-api-malformed-body',
  'http-api-base64-body',
  'rest-api-about',
  'http-api-get-introspection',
  'http-api-get-browser',
  'http-api-predict-ensemble',
  'http-api-predict-regressor',
  'http-api-traffic-anonymous',
  'http-api-traffic-without-scope',
  'http-api-traffic-authorized',
  'http-api-traffic-read',
];

beforeAll(async () => {
  // The build under test, once.
  const started = performance.now();
  const run = spawnSync(process.execPath, [join(ROOT, 'scripts/build-lambda.mjs')], { cwd: ROOT, encoding: 'utf8' });
  build = { status: run.status, stdout: run.stdout, stderr: run.stderr, ms: performance.now() - started };
  if (run.status !== 0) throw new Error(`build:lambda failed:\n${run.stdout}\n${run.stderr}`);

  fx = await startS3Fixture();
  const seeder = fx.runtime();
  await seedDemoBucket(seeder.store, seeder.deployments);
  const prefix = `${GOVERNED_MODEL}/archive/v1/`;
  const labels = [...OPTION_STRATEGIES].slice(0, 4);
  await seeder.store.put(
    `${prefix}model.onnx`,
    Buffer.from(buildTreeEnsembleClassifier({ featureNames: GOVERNED_FEATURES, labels, trees: 4, depth: 3, seed: 7 })),
  );
  await seeder.store.put(`${prefix}feature_names.json`, JSON.stringify(GOVERNED_FEATURES));
  await seeder.store.put(`${prefix}metadata.json`, JSON.stringify({ strategies: labels, accuracy: 0.66 }));

  // What Lambda would see: the function code in the task root, the layer under /opt — copied
  // outside the repository so nothing can resolve the project's node_modules by accident.
  sandbox = join(fx.dir, 'lambda');
  mkdirSync(sandbox, { recursive: true });
  cpSync(join(ROOT, String(fnProps.CodeUri)), join(sandbox, 'task'), { recursive: true });
  cpSync(join(ROOT, String(layerProps.ContentUri)), join(sandbox, 'opt'), { recursive: true });
  cpSync(join(import.meta.dirname, 'support/invoke.mjs'), join(sandbox, 'invoke.mjs'));

  [main, broken, warmed, governed] = await Promise.all([
    invoke('main', MAIN_EVENTS, {}),
    // Invalid configuration: the module must still load and answer cleanly.
    invoke('broken', ['http-api-predict', 'rest-api-about'], { S3_ENDPOINT: 'not a url' }),
    // Provisioned concurrency: WARM_MODELS load during init, so the first request is warm.
    invoke('warmed', ['http-api-predict'], {
      AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency',
      WARM_MODELS: 'etfs/SPY, universal/not_there',
    }),
    // Governance: register, then approvals from three JWT subjects, in one warm instance.
    invoke('governance', GOVERNANCE_EVENTS, {}),
  ]);
  const first = main.order[0];
  console.log(
    `lambda handler (built bundle, fresh process, NODE_EXTRA_CA_CERTS unset): build ${(build.ms / 1000).toFixed(2)} s; ` +
      `module import ${main.init.importMs.toFixed(0)} ms (${main.init.sinceProcessStartMs.toFixed(0)} ms after process start); ` +
      `first predict ${first.ms.toFixed(0)} ms, answered ${first.sinceProcessStartMs.toFixed(0)} ms after process start; ` +
      `warm predict ${main.results.get('http-api-predict-warm')!.ms.toFixed(1)} ms; ` +
      `with WARM_MODELS (provisioned concurrency): import+warm ${warmed.init.importMs.toFixed(0)} ms, first predict ${warmed.order[0].ms.toFixed(1)} ms`,
  );
}, 120_000);

afterAll(async () => {
  await fx?.close();
});

describe('the build', () => {
  it('produces what template.yaml deploys: Handler in CodeUri, the layer in ContentUri', () => {
    expect(build.stdout).toMatch(/function .* MB/);
    expect(existsSync(join(ROOT, String(fnProps.CodeUri), `${handlerModule}.mjs`))).toBe(true);
    expect(main.init.exportType).toBe('function');
    expect(
      existsSync(join(ROOT, String(layerProps.ContentUri), 'nodejs/node_modules/onnxruntime-node/package.json')),
    ).toBe(true);
    expect(
      existsSync(join(ROOT, String(layerProps.ContentUri), 'nodejs/node_modules/onnxruntime-common/package.json')),
    ).toBe(true);
  });

  it('keeps the bundle self-contained: only onnxruntime-node comes from the layer', () => {
    expect(main.init.resolves['@apollo/server']).toBeNull();
    expect(main.init.resolves['@aws-sdk/client-s3']).toBeNull();
    expect(main.init.resolves['onnxruntime-node']).toBe(
      join(sandbox, 'opt/nodejs/node_modules/onnxruntime-node/dist/index.js'),
    );
    const bundle = readFileSync(join(ROOT, 'dist/lambda/function/index.mjs'), 'utf8');
    expect(bundle).toContain('Predicts the option strategy for one ticker.'); // the SDL is inlined
    expect(readdirSync(join(ROOT, 'dist/lambda/function')).sort()).toEqual([
      'Makefile',
      'catchup.mjs', // the scheduled events catch-up (EventsCatchUpFunction)
      'chunks',
      'console', // the console's static bundle, served by the function at /console
      'evaluate.mjs', // evaluation chunks and reduce (EvaluationFunction)
      'index.mjs',
      'index.mjs.LEGAL.txt',
    ]);
    // Code splitting: only .mjs chunks (source maps are kept out of the deployed folder).
    expect(
      readdirSync(join(ROOT, 'dist/lambda/function/chunks')).filter((f) => !/\.mjs(\.LEGAL\.txt)?$/.test(f)),
    ).toEqual([]);
  });

  it('prunes the layer to linux/x64 (the template default) and stays far below Lambda limits', () => {
    const sizes = JSON.parse(readFileSync(join(ROOT, 'dist/lambda/sizes.json'), 'utf8'));
    const bin = join(ROOT, 'dist/lambda/layer/nodejs/node_modules/onnxruntime-node/bin');
    const platforms = readdirSync(bin).flatMap((napi) =>
      readdirSync(join(bin, napi)).flatMap((os) => readdirSync(join(bin, napi, os)).map((arch) => `${os}/${arch}`)),
    );
    expect(platforms).toEqual(['linux/x64']);
    expect(sizes.lambdaArchitecture).toBe((template.Parameters!.Architecture as JsonObject).Default);
    expect(sizes.totalBytes).toBe(sizes.functionBytes + sizes.layerBytes);
    expect(sizes.totalBytes).toBeLessThan(80 * 1024 * 1024);
    const layerFiles = spawnSync('find', [join(ROOT, 'dist/lambda/layer'), '-type', 'f'], { encoding: 'utf8' }).stdout;
    expect(layerFiles).not.toMatch(/\.(map|d\.ts|md)\n/);
  });

  it('lets `sam build` copy the prebuilt artifacts (BuildMethod: makefile targets for the template logical ids)', () => {
    for (const [id, dir, expected] of [
      [
        'GraphQLFunction',
        String(fnProps.CodeUri),
        ['catchup.mjs', 'chunks', 'console', 'evaluate.mjs', 'index.mjs', 'index.mjs.LEGAL.txt'],
      ],
      [
        'EventsCatchUpFunction',
        String((template.Resources.EventsCatchUpFunction.Properties as JsonObject).CodeUri),
        ['catchup.mjs', 'chunks', 'console', 'evaluate.mjs', 'index.mjs', 'index.mjs.LEGAL.txt'],
      ],
      [
        'EvaluationFunction',
        String((template.Resources.EvaluationFunction.Properties as JsonObject).CodeUri),
        ['catchup.mjs', 'chunks', 'console', 'evaluate.mjs', 'index.mjs', 'index.mjs.LEGAL.txt'],
      ],
      ['OnnxRuntimeLayer', String(layerProps.ContentUri), ['nodejs']],
    ] as const) {
      const artifacts = join(sandbox, `sam-artifacts-${id}`);
      mkdirSync(artifacts, { recursive: true });
      const make = spawnSync('make', [`build-${id}`, `ARTIFACTS_DIR=${artifacts}`], {
        cwd: join(ROOT, dir),
        encoding: 'utf8',
      });
      expect(make.status, make.stderr).toBe(0);
      expect(readdirSync(artifacts).sort()).toEqual([...expected]);
    }
  });
});

describe('the built events catch-up (catchup.handler, run every minute on AWS)', () => {
  it('repairs the registries from the pointers and puts the missed events to EventBridge (a loopback stand-in: AWS is not reachable here)', async () => {
    // Prepare: a move whose process died before the registries and the events (no listeners at all)
    const seeder = fx.runtime();
    const bare = new Deployments(seeder.registry);
    const { record } = await bare.rollback({
      model: 'etfs/IWM',
      stage: 'PRODUCTION',
      to: 'v1.0.0',
      by: 'died-before-feed',
      reason: 'kill -9',
    });
    const standIn = new EventBridgeStandIn();
    await standIn.start();
    const [catchUpModule, catchUpExport] = String(
      (template.Resources.EventsCatchUpFunction.Properties as JsonObject).Handler,
    ).split('.');
    try {
      // Act: the built catchup.mjs in a fresh process, with a scheduled event
      const run = await invoke(
        'catchup',
        ['scheduled-catchup'],
        {
          AWS_LAMBDA_FUNCTION_NAME: 'modelgraph-events-catchup',
          EVENTS_BUS_NAME: 'modelgraph-events',
          EVENTBRIDGE_ENDPOINT: standIn.endpoint,
        },
        { module: catchUpModule, export: catchUpExport },
      );
      // Assess
      expect(run.code, run.stderr).toBe(0);
      expect(run.order.map((r) => r.kind)).toEqual(['result']);
      expect(run.order[0].result).toMatchObject({ pending: 0 });
      const registry = await readModelRegistry(seeder.store);
      expect(registry.find((m) => m.model === 'etfs/IWM')!.production!.generation).toBe(record.generation);
      expect((await readDeploymentHistory(seeder.store)).some((d) => d.id === record.id)).toBe(true);
      const entry = standIn.accepted.find((e) => JSON.parse(e.Detail!).id === record.id);
      expect(entry).toMatchObject({
        EventBusName: 'modelgraph-events',
        Source: 'modelgraph',
        DetailType: 'Modelgraph Version Rolled Back',
      });
      expect(JSON.parse(entry!.Detail!)).toMatchObject({ by: 'died-before-feed', generation: record.generation });
    } finally {
      await standIn.stop();
    }
  });
});

describe('the built evaluation function (evaluate.handler, invoked by the evaluation state machine)', () => {
  const MODEL = 'universal/eval_lambda';
  const N = 1_500;

  it('scores the chunks the Distributed Map sends, in separate fresh processes, and its reduce writes the document the rows give', async () => {
    // Prepare: v1 in production, v2 to evaluate, 1,500 known rows in row groups of 500 (three chunks).
    const seeder = fx.runtime();
    const { store } = seeder;
    for (const [version, seed] of [
      ['v1', 51],
      ['v2', 52],
    ] as const) {
      await publishVersion(
        store,
        MODEL,
        version,
        {
          'model.onnx': Buffer.from(modelBytes(seed)),
          'feature_names.json': Buffer.from(JSON.stringify(EVAL_FEATURES)),
        },
        { strategies: EVAL_LABELS },
      );
    }
    await seeder.deployments.promote({
      model: MODEL,
      version: 'v1',
      stage: 'PRODUCTION',
      by: 'test',
      reason: 'baseline',
    });
    const rows = knownRows(N, 13);
    const dataset = await pushDataset(store, { name: 'lambda-rows', bytes: parquetOf(rows, 500), by: 'test' });
    // The API's side: the run document and the state machine's input (what stepFunctionsExecutor starts it with).
    const launched: EvaluationExecutionInput[] = [];
    const api = new Evaluations(seeder, {
      executor: {
        kind: 'STEP_FUNCTIONS',
        launch: async (run, runKey) => {
          launched.push({ run: runKey, chunks: run.chunks.map((c) => c.index) });
          return 'arn:aws:states:us-east-1:123456789012:execution:stack-evaluation:test';
        },
      },
    });
    const view = await api.start({
      model: MODEL,
      version: 'v2',
      dataset: 'lambda-rows',
      compareWith: 'PRODUCTION',
      by: 'admin',
    });
    expect(view).toMatchObject({ status: 'RUNNING', executor: 'STEP_FUNCTIONS', chunks: 3, comparisonVersion: 'v1' });
    const input = launched[0];
    expect(input).toEqual({ run: evaluationRunKey(MODEL, 'v2', dataset.sha256), chunks: [0, 1, 2] });
    // The events, built from template.yaml's definition as Step Functions builds them.
    const def = (template.Resources.EvaluationStateMachine.Properties as JsonObject).Definition as any;
    const map = def.States.ScoreChunks;
    const chunkEvent = (item: number) =>
      statesPayload(map.ItemProcessor.States.ScoreChunk.Parameters, statesPayload(map.ItemSelector, input, item))
        .Payload;
    const dir = join(sandbox, 'evaluation-events');
    mkdirSync(dir, { recursive: true });
    const event = (name: string, body: unknown) => {
      writeFileSync(join(dir, `${name}.json`), JSON.stringify(body));
      return join(dir, `${name}.json`);
    };
    const reduceEvent = statesPayload(def.States.Reduce.Parameters, input).Payload;
    expect(chunkEvent(1)).toEqual({ action: 'chunk', run: input.run, chunk: 1 });
    expect(reduceEvent).toEqual({ action: 'reduce', run: input.run });
    const evaluationFn = template.Resources.EvaluationFunction.Properties as JsonObject;
    const [module, exportName] = String(evaluationFn.Handler).split('.');
    const entry = { module, export: exportName };
    const env = { AWS_LAMBDA_FUNCTION_NAME: 'modelgraph-evaluation' };
    fx.s3.resetRequests();

    // Act: the Map's items over two instances at once, then a third for a redelivered item and the reduce (twice).
    const [first, second] = await Promise.all([
      invoke('evaluate-a', [event('chunk-0', chunkEvent(0)), event('chunk-2', chunkEvent(2))], env, entry),
      invoke('evaluate-b', [event('chunk-1', chunkEvent(1))], env, entry),
    ]);
    const last = await invoke(
      'evaluate-c',
      [event('chunk-0-redelivered', chunkEvent(0)), event('reduce', reduceEvent), event('reduce-retried', reduceEvent)],
      env,
      entry,
    );

    // Assess: every invocation answered, in processes that exited cleanly.
    for (const run of [first, second, last]) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.init.exportType).toBe('function');
      expect(run.order.filter((r) => r.kind === 'crash').map((r) => r.error)).toEqual([]);
    }
    const answer = (run: Run, name: string) => run.results.get(name)!.result as unknown;
    expect(answer(first, 'chunk-0')).toEqual({ action: 'chunk', chunk: 0, outcome: 'written' });
    expect(answer(first, 'chunk-2')).toEqual({ action: 'chunk', chunk: 2, outcome: 'written' });
    expect(answer(second, 'chunk-1')).toEqual({ action: 'chunk', chunk: 1, outcome: 'written' });
    expect(answer(last, 'chunk-0-redelivered')).toEqual({ action: 'chunk', chunk: 0, outcome: 'existed' });

    // Each chunk's result is the tally of its rows as a bare onnxruntime session labels them.
    const [candidate, production] = await Promise.all([
      bareLabels(modelBytes(52), rows),
      bareLabels(modelBytes(51), rows),
    ]);
    const tallies = [];
    for (const chunk of [0, 1, 2]) {
      const key = evaluationChunkKey(MODEL, 'v2', dataset.sha256, chunk);
      const stored = ChunkResultSchema.parse(JSON.parse((await store.get(key)).body.toString('utf8')));
      const [rowStart, rowEnd] = [chunk * 500, chunk * 500 + 500];
      const expected = tallyRows({
        rowStart,
        labels: rows.labels.slice(rowStart, rowEnd),
        predicted: candidate.slice(rowStart, rowEnd),
        comparisonPredicted: production.slice(rowStart, rowEnd),
        timestamps: rows.timestamps.slice(rowStart, rowEnd).map((d) => d.getTime()),
        pnl: rows.pnl.slice(rowStart, rowEnd),
      });
      expect(stored).toEqual({ chunk, rowStart, rowEnd, comparisonVersion: 'v1', tally: expected });
      tallies.push(expected);
    }

    // The reduce wrote the document write-once; the retried reduce answered from it.
    const doc = (await readEvaluationDocument(store, MODEL, 'v2', dataset.sha256))!;
    expect(doc).toMatchObject({
      id: view.id,
      model: MODEL,
      version: 'v2',
      dataset: { name: 'lambda-rows', sha256: dataset.sha256, rows: N },
      candidate: { version: 'v2', featureNames: EVAL_FEATURES, labels: EVAL_LABELS },
      comparison: { version: 'v1', stage: 'PRODUCTION' },
      chunks: 3,
      executor: 'STEP_FUNCTIONS',
      attempts: 1,
      startedBy: 'admin',
    });
    expect(doc.metrics).toEqual(summarize(tallies.reduce(mergeTallies, EMPTY_TALLY), EVAL_LABELS));
    expect(doc.metrics.correct).toBe(candidate.filter((c, i) => c === rows.labels[i]).length);
    expect(answer(last, 'reduce')).toEqual({ action: 'reduce', id: view.id, rows: N, accuracy: doc.metrics.accuracy });
    expect(answer(last, 'reduce-retried')).toEqual(answer(last, 'reduce'));
    expect(await api.get(view.id)).toMatchObject({ status: 'SUCCEEDED', rowsScored: N, chunksDone: 3 });

    // It wrote only under the evaluation prefix (its IAM scope), each object once: three chunks and the document.
    const puts = fx.s3.requests().filter((r) => r.method === 'PUT' && r.status === 200);
    expect(puts.map((r) => r.key).sort()).toEqual(
      [0, 1, 2]
        .map((i) => evaluationChunkKey(MODEL, 'v2', dataset.sha256, i))
        .concat(evaluationKey(MODEL, 'v2', dataset.sha256))
        .sort(),
    );
    for (const put of puts) expect(put.ifNoneMatch).toBe('*');
    // One structured log line per task.
    const logged = [first, second, last].flatMap((run) => run.records.filter((r) => r.message === 'evaluation task'));
    expect(logged.map((r) => r.action).sort()).toEqual(['chunk', 'chunk', 'chunk', 'chunk', 'reduce', 'reduce']);
  }, 120_000);
});

describe('the built handler with API Gateway events', () => {
  it('never crashes: every event gets an answer and the process exits cleanly', () => {
    expect(main.code, main.stderr).toBe(0);
    expect(main.order.map((r) => r.event)).toEqual(MAIN_EVENTS);
    expect(main.order.filter((r) => r.kind === 'crash')).toEqual([]);
  });

  it('predict: a strategy from the production version', () => {
    const { status, headers, json } = response(main, 'http-api-predict');
    expect(status).toBe(200);
    expect(headers['content-type']).toMatch(/^application\/json/);
    expect(json.errors).toBeUndefined();
    const p = json.data.predict;
    expect(p).toMatchObject({ ticker: 'SPY', version: 'v1.1.0', stage: 'PRODUCTION', modelType: 'ETF_SPECIFIC' });
    expect(OPTION_STRATEGIES).toContain(p.strategy);
    expect(p.probabilities.reduce((s: number, x: { probability: number }) => s + x.probability, 0)).toBeCloseTo(1, 4);
  });

  it('a second predict in the same process is served from the warm caches (no S3 request, no model load)', () => {
    const { json } = response(main, 'http-api-predict-warm');
    expect(json.data.predict.version).toBe('v1.1.0');
    expect(requestLog(main, 'http-api-predict').counters).toMatchObject({
      modelCacheMisses: 1,
      modelLoads: 1,
      artifactFetches: 2,
    });
    expect(requestLog(main, 'http-api-predict-warm').counters).toEqual({
      modelCacheHits: 1,
      modelCacheMisses: 0,
      modelLoads: 0,
      modelEvictions: 0,
      s3Gets: 0,
      artifactFetches: 0,
      diskHits: 0,
      rowsPredicted: 1,
      predictionBatches: 1,
      predictionMs: expect.any(Number),
      // no traffic settings on SPY: no shadow or canary work
      shadowRows: 0,
      shadowAgreements: 0,
      shadowFailures: 0,
      canaryRows: 0,
    });
    expect(emf(main, 'http-api-predict-warm')).toMatchObject({ ModelCacheHit: 1, ModelCacheMiss: 0, S3Fetches: 0 });
  });

  it('predictMany over ETFs and stocks: each ETF its own model, every stock the universal one', () => {
    const { json } = response(main, 'http-api-predict-many');
    expect(json.errors).toBeUndefined();
    const answers = json.data.predictMany as Array<{
      ticker: string;
      modelType: string;
      model: { id: string };
      version: string;
      strategy: string;
    }>;
    expect(answers.map((a) => a.ticker)).toEqual(['SPY', 'QQQ', 'SMH', 'XLF', 'AAPL', 'MSFT', 'NVDA', 'TSLA']);
    for (const a of answers.slice(0, 4))
      expect(a).toMatchObject({ modelType: 'ETF_SPECIFIC', model: { id: `etfs/${a.ticker}` } });
    for (const a of answers.slice(4))
      expect(a).toMatchObject({ modelType: 'STOCK_UNIVERSAL', model: { id: 'stocks/universal' }, version: 'v1.1.0' });
    for (const a of answers) expect(OPTION_STRATEGIES).toContain(a.strategy);
    // SPY was warm; QQQ, SMH, XLF and stocks/universal loaded once each, the four stocks in one batch.
    expect(requestLog(main, 'http-api-predict-many').counters).toMatchObject({
      modelCacheHits: 1,
      modelLoads: 4,
      rowsPredicted: 8,
    });
  });

  it('a mutation without authorizer claims is UNAUTHENTICATED, whatever Authorization header it sends', () => {
    const { status, json } = response(main, 'http-api-mutation-anonymous');
    expect(status).toBe(200);
    expect(json.data).toBeNull();
    expect(json.errors![0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('claims without the write scope are FORBIDDEN', () => {
    expect(response(main, 'http-api-mutation-without-scope').json.errors![0].extensions.code).toBe('FORBIDDEN');
  });

  it('claims with scope models:write may roll back: the pointer moves, in S3 and in this process at once', async () => {
    const { json } = response(main, 'http-api-mutation-authorized');
    expect(json.errors).toBeUndefined();
    expect(json.data.rollback).toEqual({
      action: 'ROLLBACK',
      fromVersion: 'v1.1.0',
      toVersion: 'v1.0.0',
      by: 'ml-engineer-42',
      stage: 'PRODUCTION',
    });
    const stored = await fx.runtime().registry.stagePointer('etfs/SPY', 'PRODUCTION');
    expect(stored?.value.version).toBe('v1.0.0');
    expect(response(main, 'http-api-predict-after-rollback').json.data.predict.version).toBe('v1.0.0');
  });

  it('a malformed body is a GraphQL-shaped 400 that does not echo the body, and the next event still works', () => {
    const { status, json, body } = response(main, 'http-api-malformed-body');
    expect(status).toBe(400);
    expect(json.errors![0].extensions.code).toBe('BAD_REQUEST');
    expect(body).not.toContain(FEATURE_VALUE);
    const { requestId } = main.results.get('http-api-malformed-body')!;
    expect(main.records.find((r) => r.function_request_id === requestId && r.level === 'WARN')).toMatchObject({
      message: 'request rejected before GraphQL',
      reason: 'The request body is not valid JSON',
    });
    const next = response(main, 'http-api-base64-body');
    expect(next.status).toBe(200);
    expect(next.json.data.about).toMatchObject({ bucket: TEST_BUCKET });
  });

  it('serves REST API (payload 1.0) events too', () => {
    const { status, json } = response(main, 'rest-api-about');
    expect(status).toBe(200);
    expect(json.data.about.bucket).toBe(TEST_BUCKET);
  });

  it('GET: introspection as configured (on by default), no landing page', () => {
    const get = response(main, 'http-api-get-introspection');
    expect(get.status).toBe(200);
    expect(get.json.data.__schema).toEqual({ queryType: { name: 'Query' }, mutationType: { name: 'Mutation' } });
    // A browser GET without a query: JSON error, not an HTML page (GraphiQL is local-only; Apollo's loads a CDN).
    const browser = response(main, 'http-api-get-browser');
    expect(browser.status).toBe(400);
    expect(browser.headers['content-type']).toMatch(/^application\/json/);
    expect(browser.json.errors!.length).toBe(1);
  });

  /** The same request answered from the sources (not the bundle) against the same bucket. */
  async function fromSources(event: string, ticker: string, model?: string): Promise<Prediction> {
    const { features } = JSON.parse(JSON.parse(readFileSync(join(EVENTS, `${event}.json`), 'utf8')).body).variables;
    const [answer] = await fx.runtime().predictor.predictBatch([{ ticker, features, model }]);
    if (answer instanceof Error) throw answer;
    return answer;
  }

  it('an ensemble prediction (DIA, or any asset with model: "ensembles/…"): its soft vote and every member pinned to the ensemble version', async () => {
    const { status, json } = response(main, 'http-api-predict-ensemble');
    expect(status).toBe(200);
    expect(json.errors).toBeUndefined();
    const { dia, spy } = json.data;
    expect(dia).toMatchObject({
      ticker: 'DIA',
      task: 'CLASSIFICATION',
      version: 'v1.0.0',
      stage: 'PRODUCTION',
      modelType: 'ENSEMBLE',
      model: { id: DEMO_ENSEMBLE },
    });
    expect(dia.ensemble.voting).toBe('SOFT');
    // Pinned: SPY's production was rolled back to v1.0.0 by an earlier event, the ensemble still asks v1.1.0.
    expect(dia.ensemble.members.map((m: any) => ({ model: m.model.id, version: m.version, weight: m.weight }))).toEqual(
      DEMO_ENSEMBLE_MEMBERS,
    );
    for (const m of dia.ensemble.members) {
      expect(OPTION_STRATEGIES).toContain(m.strategy);
      expect(m.confidence).toBeGreaterThan(0);
    }
    expect(dia.probabilities.reduce((s: number, x: { probability: number }) => s + x.probability, 0)).toBeCloseTo(1, 4);
    // The bundle answers what the sources answer.
    const expected = await fromSources('http-api-predict-ensemble', 'DIA');
    expect(dia.strategy).toBe(expected.strategy);
    dia.probabilities.forEach((p: { label: string; probability: number }, i: number) => {
      expect(p.label).toBe(expected.probabilities[i].label);
      expect(p.probability).toBeCloseTo(expected.probabilities[i].probability, 6);
    });
    expect(dia.ensemble.members.map((m: any) => [m.strategy, m.confidence])).toEqual(
      expected.ensemble!.members.map((m) => [m.strategy, expect.closeTo(m.confidence, 6)]),
    );
    // SPY asking the ensemble by id gets the very same vote for the same features.
    expect(spy).toMatchObject({
      ticker: 'SPY',
      version: 'v1.0.0',
      modelType: 'ENSEMBLE',
      model: { id: DEMO_ENSEMBLE },
      strategy: dia.strategy,
      probabilities: dia.probabilities,
    });
    expect(spy.ensemble.members).toEqual(
      dia.ensemble.members.map((m: any) => ({ model: m.model, version: m.version })),
    );
    // Both rows, in one batch: each member model ran once for both.
    expect(requestLog(main, 'http-api-predict-ensemble').counters).toMatchObject({
      rowsPredicted: 2 * DEMO_ENSEMBLE_MEMBERS.length,
      predictionBatches: 1,
    });
  });

  it('a regressor through the model override: task REGRESSION with named outputs, no strategy', async () => {
    const { status, json } = response(main, 'http-api-predict-regressor');
    expect(status).toBe(200);
    expect(json.errors).toBeUndefined();
    const p = json.data.predict;
    expect(p).toMatchObject({
      ticker: 'AAPL',
      task: 'REGRESSION',
      strategy: null,
      confidence: null,
      probabilities: [],
      version: 'v1.0.0',
      stage: 'PRODUCTION',
      modelType: 'UNIVERSAL',
      model: { id: DEMO_RISK_MODEL },
      ensemble: null,
    });
    expect(p.outputs.map((o: { name: string }) => o.name)).toEqual(['risk_score']);
    const expected = await fromSources('http-api-predict-regressor', 'AAPL', DEMO_RISK_MODEL);
    expect(p.outputs[0].value).toBeCloseTo(expected.outputs[0].value, 6);
  });

  it('configureTraffic on /admin/graphql: without authorizer claims UNAUTHENTICATED, without the scope FORBIDDEN — nothing written; with it a TRAFFIC record', async () => {
    // (API Gateway's JWT authorizer guards /admin/graphql; the function still trusts nothing but its claims.)
    for (const [event, code] of [
      ['http-api-traffic-anonymous', 'UNAUTHENTICATED'],
      ['http-api-traffic-without-scope', 'FORBIDDEN'],
    ] as const) {
      const { status, json } = response(main, event);
      expect(status).toBe(200);
      expect(json.data).toBeNull();
      expect(json.errors!.map((e: any) => e.extensions.code)).toEqual([code]);
      expect(requestLog(main, event).errorCodes).toEqual([code]);
    }
    const { json } = response(main, 'http-api-traffic-authorized');
    expect(json.errors).toBeUndefined();
    const d = json.data.configureTraffic;
    expect(d).toEqual({
      action: 'TRAFFIC',
      model: { id: 'etfs/QQQ' },
      stage: 'PRODUCTION',
      fromVersion: 'v1.0.0',
      toVersion: 'v1.0.0',
      by: 'ml-engineer-42',
      reason: 'canary for the QQQ candidate',
      generation: 2,
      traffic: { shadow: true, canaryPercent: 25 },
    });
    // In S3: one conditional write of the production pointer carrying the settings and exactly one new history entry.
    const stored = await fx.runtime().deployments.currentPointer('etfs/QQQ', 'PRODUCTION');
    expect(stored!.value).toMatchObject({
      version: 'v1.0.0',
      generation: 2,
      traffic: { shadow: true, canary_percent: 25 },
    });
    expect(stored!.value.history.map((r) => [r.action, r.by, r.traffic ?? null])).toEqual([
      ['PROMOTE', 'demo-seed', null],
      ['TRAFFIC', 'ml-engineer-42', { shadow: true, canary_percent: 25 }],
    ]);
    // The same warm instance serves the new settings at once.
    expect(response(main, 'http-api-traffic-read').json.data.model).toEqual({
      production: { version: 'v1.0.0' },
      traffic: { shadow: true, canaryPercent: 25 },
      history: [{ action: 'TRAFFIC', by: 'ml-engineer-42', traffic: { shadow: true, canaryPercent: 25 } }],
    });
  });

  it('caches artifacts in DISK_CACHE_DIR under their sha256', () => {
    const files = readdirSync(join(sandbox, 'main-disk-cache'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(f).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('governance on Lambda: the JWT subject is the principal', () => {
  it('registerVersion records the JWT `sub` as the publisher; the version starts PENDING', () => {
    expect(governed.code, governed.stderr).toBe(0);
    expect(governed.order.filter((r) => r.kind === 'crash')).toEqual([]);
    const { json } = response(governed, 'http-api-register-version');
    expect(json.errors).toBeUndefined();
    expect(json.data.registerVersion).toEqual({
      version: 'v1',
      approval: { status: 'PENDING', publishedBy: 'ml-engineer-42', generation: 1 },
      lineage: { publishedBy: 'ml-engineer-42' },
    });
  });

  it('four eyes: the sub that published the version may not approve it, even holding models:approve', () => {
    const { status, json } = response(governed, 'http-api-approve-own-version');
    expect(status).toBe(200);
    expect(json.data).toBeNull();
    expect(json.errors!.map((e: any) => e.extensions.code)).toEqual(['FORBIDDEN']);
    expect(json.errors![0].extensions).toMatchObject({ rule: 'FOUR_EYES', publishedBy: 'ml-engineer-42' });
    expect(json.errors![0].message).toMatch(/Four eyes: ml-engineer-42 published universal\/gov_lambda@v1/);
  });

  it('a sub with only models:write is FORBIDDEN, naming models:approve', () => {
    const { json } = response(governed, 'http-api-approve-without-scope');
    expect(json.data).toBeNull();
    expect(json.errors!.map((e: any) => e.extensions.code)).toEqual(['FORBIDDEN']);
    expect(json.errors![0].extensions).toMatchObject({ requiredScope: 'models:approve' });
    expect(json.errors![0].message).toContain('models:approve');
    expect(requestLog(governed, 'http-api-approve-without-scope').errorCodes).toEqual(['FORBIDDEN']);
  });

  it('another sub with models:approve approves it: `by` is that JWT subject, in the answer and in the bucket', async () => {
    const { json } = response(governed, 'http-api-approve-version');
    expect(json.errors).toBeUndefined();
    expect(json.data.approveVersion).toEqual({
      status: 'APPROVED',
      by: 'risk-officer-7',
      note: 'backtest reviewed',
      publishedBy: 'ml-engineer-42',
      generation: 2,
      history: [
        { action: 'REGISTER', status: 'PENDING', by: 'ml-engineer-42' },
        { action: 'APPROVE', status: 'APPROVED', by: 'risk-officer-7' },
      ],
    });
    // The approval document as stored: the refused calls left no trace.
    const stored = await fx.runtime().governance.approval(GOVERNED_MODEL, 'v1');
    expect(stored!.value).toMatchObject({
      status: 'APPROVED',
      by: 'risk-officer-7',
      published_by: 'ml-engineer-42',
      generation: 2,
    });
    expect(stored!.value.history.map((h) => [h.action, h.by])).toEqual([
      ['REGISTER', 'ml-engineer-42'],
      ['APPROVE', 'risk-officer-7'],
    ]);
  });
});

describe('observability', () => {
  it('writes structured JSON logs with the invocation and API request ids', () => {
    const log = requestLog(main, 'http-api-predict');
    expect(log).toMatchObject({
      level: 'INFO',
      service: 'modelgraph',
      function_name: 'modelgraph-graphql',
      cold_start: true,
      operationName: 'PredictSpy',
      status: 200,
      apiRequestId: expect.stringMatching(/^Ckq3QiXYoAMEbXw=/),
    });
    expect(requestLog(main, 'http-api-predict-warm').cold_start).toBe(false);
    expect(requestLog(main, 'http-api-mutation-anonymous').errorCodes).toEqual(['UNAUTHENTICATED']);
    expect(main.records.find((r) => r.message === 'model loaded')).toMatchObject({ model: 'etfs/SPY@v1.1.0' });
  });

  it('publishes EMF metrics per invocation: ModelLoadTime, cache hits/misses, S3 fetches, prediction latency, cold start', () => {
    const docs = main.records.filter((r) => r._aws);
    const metricNames = (d: Record<string, any>) =>
      d._aws.CloudWatchMetrics.flatMap((m: any) => m.Metrics.map((x: any) => x.Name));
    for (const d of docs) expect(d._aws.CloudWatchMetrics[0].Namespace).toBe('Modelgraph');
    const first = emf(main, 'http-api-predict')!;
    expect(metricNames(first)).toEqual(
      expect.arrayContaining(['ModelLoadTime', 'ModelCacheHit', 'ModelCacheMiss', 'S3Fetches', 'PredictionLatency']),
    );
    // The asset registry was fetched during init; the first invocation GETs pointer, feature names and model.
    expect(first).toMatchObject({ service: 'modelgraph', ModelCacheMiss: 1, S3Fetches: 3 });
    expect(first.ModelLoadTime).toBeGreaterThan(0);
    expect(first.PredictionLatency).toBeGreaterThan(0);
    // Rows run and STORAGE_UNAVAILABLE errors (published as 0 too, so its alarm sees data).
    expect(first).toMatchObject({ RowsPredicted: 1, StorageUnavailable: 0 });
    expect(docs.filter((d) => metricNames(d).includes('ColdStart'))).toHaveLength(1);
  });

  it('logs no secrets and no feature values', () => {
    const everything = main.stdout + main.stderr;
    expect(everything).not.toContain(BEARER_TOKEN);
    expect(everything).not.toMatch(/authorization/i);
    expect(everything).not.toContain(FEATURE_VALUE);
    expect(everything).not.toContain('0.8642713'); // rsi_14 of the warm predict
    expect(everything).not.toContain(EMBEDDED_S3_CREDENTIALS.secretAccessKey);
  });
});

describe('start-up', () => {
  it('invalid configuration: every request answers a GraphQL-shaped 500 STARTUP_FAILED, the cause is logged, nothing crashes', () => {
    expect(broken.code).toBe(0);
    expect(broken.init.exportType).toBe('function');
    for (const event of ['http-api-predict', 'rest-api-about']) {
      const { status, json } = response(broken, event);
      expect(status).toBe(500);
      expect(json.errors![0].extensions.code).toBe('STARTUP_FAILED');
    }
    const critical = broken.records.find((r) => r.level === 'CRITICAL');
    expect(critical?.error).toMatch(/S3_ENDPOINT/);
  });

  it('WARM_MODELS load during init (provisioned concurrency): the first request is already warm; a bad id does not fail init', () => {
    expect(warmed.records.find((r) => r.message === 'warm models')?.results).toEqual([
      expect.objectContaining({ model: 'etfs/SPY', ok: true, version: 'v1.1.0' }),
      expect.objectContaining({ model: 'universal/not_there', ok: false, error: 'MODEL_NOT_DEPLOYED' }),
    ]);
    const { json } = response(warmed, 'http-api-predict');
    expect(json.data.predict.version).toBe('v1.1.0');
    expect(requestLog(warmed, 'http-api-predict').counters).toMatchObject({
      modelCacheHits: 1,
      modelCacheMisses: 0,
      modelLoads: 0,
    });
  });
});
