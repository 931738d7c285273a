import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { demoModel } from '../../src/demo/treeEnsemble';
import { publishVersion } from '../../src/registry/versionPublisher';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import { codesOf, sleep } from './support';

/**
 * What the API gives away: introspection can be switched off, production masks
 * internal errors and field suggestions, and the local server never writes the
 * write token or feature values to its output.
 */
const INTROSPECTION = `{ __schema { queryType { name } types { name } } }`;
const VERSION_FIELDS = `query($v: String!) { model(id: "etfs/SPY") { version(version: $v) { version trainingSamples } } }`;

/** A version whose metadata holds a number GraphQL's Int cannot carry: resolving it is an internal error. */
async function publishOverflowingVersion(stack: TestStack): Promise<void> {
  const files = {
    'model.onnx': Buffer.from(demoModel(3, { trees: 2, depth: 2 })),
    'feature_names.json': Buffer.from(JSON.stringify(DEMO_FEATURE_NAMES)),
  };
  await publishVersion(stack.server.runtime.store, 'etfs/SPY', 'v7.0.0-overflow', files, {
    strategies: [...OPTION_STRATEGIES],
    training_samples: 3_000_000_000,
  });
}

describe('introspection switched off', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ env: { INTROSPECTION: 'false' } });
  });
  afterAll(() => stack?.close());

  it('refuses introspection queries and still answers ordinary ones', async () => {
    for (const query of [INTROSPECTION, `{ __type(name: "Query") { fields { name } } }`]) {
      const res = await stack.gql(query);
      expect(res.status).toBe(400);
      expect(codesOf(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(res.errors![0].message).toMatch(/introspection/i);
      expect(res.data).toBeUndefined();
    }
    const ok = await stack.gql(`{ about { version } }`);
    expect(ok.errors).toBeUndefined();
  });

  it('is on by default outside this switch', async () => {
    const other = await startTestStack({ env: { NODE_ENV: 'production' } });
    try {
      const res = await other.gql(INTROSPECTION);
      expect(res.errors).toBeUndefined();
      expect(res.data!.__schema.queryType.name).toBe('Query');
    } finally {
      await other.close();
    }
  });
});

describe.each([
  { env: 'production', masked: true },
  { env: 'development', masked: false },
])('NODE_ENV=$env', ({ env, masked }) => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ env: { NODE_ENV: env } });
    await publishOverflowingVersion(stack);
  });
  afterAll(() => stack?.close());

  it(`${masked ? 'masks' : 'shows'} the message of an internal error, never a stack trace`, async () => {
    const res = await stack.gql(VERSION_FIELDS, { v: 'v7.0.0-overflow' });
    expect(codesOf(res)).toEqual(['INTERNAL_SERVER_ERROR']);
    const [error] = res.errors!;
    if (masked) expect(error.message).toBe('Internal server error');
    else expect(error.message).toMatch(/3000000000/);
    expect(JSON.stringify(res)).not.toMatch(/stacktrace|at [A-Za-z.<>]+ \(|node_modules/);
    // the rest of the response is still answered
    expect(res.data!.model.version).toEqual({ version: 'v7.0.0-overflow', trainingSamples: null });
  });

  it(`${masked ? 'blocks' : 'keeps'} field suggestions`, async () => {
    const res = await stack.gql(`{ abut { version } model(id: "etfs/SPY") { productoin { version } } }`);
    expect(res.status).toBe(400);
    expect(codesOf(res)).toEqual(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_VALIDATION_FAILED']);
    const messages = res.errors!.map((e) => e.message).join('\n');
    if (masked) expect(messages).not.toMatch(/did you mean|"about"|"production"/i);
    else expect(messages).toMatch(/Did you mean "about"/);
  });

  it('keeps typed errors informative', async () => {
    const res = await stack.gql(`query($f: JSONObject!) { predict(ticker: "SPY", features: $f) { strategy } }`, {
      f: { iv_rank: 'high' },
    });
    expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].message).toContain('iv_rank');
  });
});

describe('the local server process writes no secret and no feature value to its output', () => {
  const TOKEN = 'mg_secret-token-9f8e7d6c5b4a3210';
  const WRONG_TOKEN = 'mg_wrong-token-0a1b2c3d4e5f';
  /** Distinctive values: a number and a string a client might send as features. */
  const VALUE = 0.7358246913;
  const STRING_VALUE = 'feature-value-4f1d2a9c';
  let dataDir: string;
  let child: ChildProcess;
  let output = '';
  let graphqlUrl: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'modelgraph-exposure-'));
    child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', 'tsx', 'src/local/main.ts'], {
      cwd: resolve(__dirname, '../..'),
      env: {
        ...process.env,
        PORT: '0',
        MODELGRAPH_DATA_DIR: dataDir,
        MODELGRAPH_WRITE_TOKEN: TOKEN,
        LOG_LEVEL: 'DEBUG',
        NODE_ENV: 'development',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const started = Date.now();
    while (!/GraphQL\s+(http:\S+)/.test(output)) {
      if (child.exitCode !== null || Date.now() - started > 45_000)
        throw new Error(`local server did not start:\n${output}`);
      await sleep(50);
    }
    graphqlUrl = /GraphQL\s+(http:\S+)/.exec(output)![1];
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function post(query: string, variables: Record<string, unknown>, token?: string) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(graphqlUrl, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    return { status: res.status, text: await res.text() };
  }

  it('logs neither the write token nor feature values, whatever the requests', async () => {
    // Act: a mix of good and failing requests carrying the distinctive values
    const features = { ...featuresFor(DEMO_FEATURE_NAMES, 1), iv_rank: VALUE };
    const predict = `query($t: String!, $f: JSONObject!) { predict(ticker: $t, features: $f) { strategy version } }`;
    const answers = await Promise.all([
      post(predict, { t: 'SPY', f: features }),
      post(predict, { t: 'AAPL', f: { ...features, rsi_14: STRING_VALUE } }),
      post(predict, { t: 'NOPE', f: features }),
      post(`{ predict(ticker: "QQQ", features: { iv_rank: ${VALUE}, rsi_14: "${STRING_VALUE}" }) { strategy } }`, {}),
      post(`query($r: [PredictionRequest!]!) { predictMany(requests: $r) { strategy } }`, {
        r: [
          { ticker: 'SPY', features },
          { ticker: 'IWM', features: { x: STRING_VALUE } },
        ],
      }),
      post(
        `mutation { promote(model: "etfs/SPY", version: "v1.0.0", reason: "exposure test") { toVersion } }`,
        {},
        TOKEN,
      ),
      post(`mutation { rollback(model: "etfs/SPY", reason: "exposure test") { toVersion } }`, {}, WRONG_TOKEN),
      post(`mutation { whoami { id canWrite } }`, {}, TOKEN),
      post(`{ syntax error ${STRING_VALUE}`, {}),
    ]);
    await sleep(200);

    // Assess: the requests did what they should…
    expect(JSON.parse(answers[0].text).data.predict.strategy).toBeTruthy();
    expect(JSON.parse(answers[5].text).data.promote.toVersion).toBe('v1.0.0');
    expect(JSON.parse(answers[6].text).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    // …error answers name features, never their values…
    expect(answers[1].text).toContain('rsi_14');
    expect(answers[1].text).not.toContain(STRING_VALUE);
    // …and the process output (captured since start: proves capture works) holds neither secret nor value
    expect(output).toContain('Modelgraph is running');
    for (const secret of [TOKEN, WRONG_TOKEN, String(VALUE), STRING_VALUE]) expect(output).not.toContain(secret);
  });
});
