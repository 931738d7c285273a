import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { LOCAL_BUCKET } from '../../src/local/server';
import { featuresFor, startTestStack, type GraphQLResponse, type TestStack } from '../support/stack';
import { TYPED_ERROR_CODES, codesOf, keysOutsideLayout } from './support';

/**
 * Hostile input, generated: path traversal, unicode tricks, huge strings,
 * non-finite numbers, nested JSON and wrong types, sent as real GraphQL over
 * HTTP to the local server. Every case ends in a typed error or a correct
 * answer — never INTERNAL_SERVER_ERROR, never a 5xx — and no S3 key outside the
 * bucket layout is ever read or written.
 */
const RUNS = 200;
const SEED = 20_261_127;
const params = { numRuns: RUNS, seed: SEED, endOnFailure: true } as const;

// ---------------------------------------------------------------------------
// Arbitraries

const TRICKS = [
  '..', '.', '/', '//', '\\', '../', '..\\', '%2e%2e', '%2e%2e%2f', '%00', '\u0000', '\n', '\r\n', '\t', ' ',
  '\uFF0E', '\uFF0F', '\u2024', '\u2215', '\u202E', '\u200F', '\u200B', '\uFEFF', '\u0301', '\u0338',
  'ſ', 'ß', 'ﬀ', 'İ', 'ı', 'Ａ', '𝐒', '😀', '\uD800', '\uDFFF', '$', '{', '}', '"', "'", '`', '*', '?', '#', '&', '=', '+',
  'A', 'S', 'P', 'Y', 'Q', 'x', 'v', '1', '0', '-', '_', 'etfs', 'stocks', 'universal', 'ensembles', 'metadata', 'archive',
  'production', 'staging', 'shared', 'experimental', 'SPY', 'AAPL', 'v1.0.0', 'v1.1.0', 'metadata.json', 'model.onnx',
];

/** Strings built from path and unicode tricks, plus arbitrary unicode and a few huge ones. */
const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...TRICKS), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-composite', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('A'.repeat(13), 'S'.repeat(5_000), '.'.repeat(100_000), `SPY${'\u0301'.repeat(1_000)}`, '../'.repeat(2_000)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'SPY', 'spy', ' SPY ', 'ſpy', 'ＳＰＹ', 'S\u0301PY', 'SPY\u0000', 'SPY/../QQQ', '../metadata/asset_registry', 'BRK.B', 'A..B', '.SPY', '-SPY',
      'AAPL', 'NOPE', 'QQQ', 'XLF', 'İWM', 'S\u202EYP', '\u200FSPY',
    ),
  },
);

/** Tickers that exist, in the spellings a client may use, and well-formed ones that do not. */
const plausibleTicker = fc.oneof(
  fc.constantFrom('SPY', 'spy', 'Qqq', ' IWM ', 'XLF', 'SMH', 'AAPL', 'msft', 'TSLA', 'NVDA'),
  fc.stringMatching(/^[A-Z][A-Z0-9]{0,4}$/),
);
const ticker = fc.oneof({ weight: 1, arbitrary: hostileString }, { weight: 1, arbitrary: plausibleTicker });

const plausibleModelId = fc.oneof(
  fc.constantFrom('etfs/SPY', 'etfs/QQQ', 'etfs/XLF', 'stocks/universal', 'universal/all_assets_classifier', 'ensembles/multi_asset_ensemble'),
  fc.stringMatching(/^(etfs\/[A-Z]{1,5}|universal\/[a-z][a-z0-9_]{0,8}|ensembles\/[a-z]{1,8})$/),
);
const hostileModelId = fc.oneof(
  { weight: 2, arbitrary: hostileString },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('etfs', 'stocks', 'universal', 'ensembles', 'metadata', 'shared', 'experimental', '..', '', 'ETFS', 'etfs/SPY'), hostileString)
      .map(([family, name]) => `${family}/${name}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'etfs/spy', 'etfs/SPY/', 'etfs//SPY', 'etfs/..', 'etfs/./SPY', 'etfs/SPY/production', 'universal/../etfs/SPY', 'stocks/universal/archive', 'etfs/ＳＰＹ',
      'etfs/ſpy', 'stocks/UNIVERSAL', 'universal/All', 'etfs/SPY\u0000', 'etfs/SPY%2F..',
    ),
  },
  { weight: 3, arbitrary: plausibleModelId },
);

const plausibleVersion = fc.oneof(fc.constantFrom('v1.0.0', 'v1.1.0'), fc.stringMatching(/^v[0-9]\.[0-9]\.[0-9](-rc[0-9])?$/));
const hostileVersion = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  {
    weight: 1,
    arbitrary: fc.constantFrom('v1.0.0/../v1.1.0', '../v1.0.0', 'v1.0.0/', 'v1.0.0\u0000', 'v1\uFF0E0', 'V1.0.0', '.', '..', 'a'.repeat(64), 'a'.repeat(65)),
  },
  { weight: 3, arbitrary: plausibleVersion },
);

/** Raw JSON tokens spliced into the request body where a sentinel string stands (JSON.stringify cannot write them). */
const RAW = { '1e999': '1e999', '-1e999': '-1e999', '-0': '-0', '1e-400': '1e-400', 'big': '123456789012345678901234567890e300', 'deep': `${'['.repeat(5_000)}${']'.repeat(5_000)}` } as const;
const raw = (token: keyof typeof RAW) => `__RAW_${token}__`;
function toBody(query: string, variables: Record<string, unknown>): string {
  let body = JSON.stringify({ query, variables });
  for (const [token, text] of Object.entries(RAW)) body = body.split(JSON.stringify(raw(token as keyof typeof RAW))).join(text);
  return body;
}

const nested: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.jsonValue({ maxDepth: 1 }), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(hostileString, tie('node'), { maxKeys: 3 })),
})).node;

const badValue = fc.oneof(
  fc.constantFrom<unknown>(
    raw('1e999'), raw('-1e999'), raw('-0'), raw('1e-400'), raw('big'), raw('deep'),
    'NaN', 'Infinity', '-Infinity', '1e999', '', '0x10', ' 1', null, true, false, [], {}, [1], { value: 1 }, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 1,
  ),
  nested,
  fc.double(),
);

/** A valid feature object, then damaged: values replaced, names dropped or added, or not an object at all. */
const hostileFeatures = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.nat(1_000),
        fc.array(fc.tuple(fc.constantFrom(...DEMO_FEATURE_NAMES), badValue), { maxLength: 3 }),
        fc.array(fc.constantFrom(...DEMO_FEATURE_NAMES), { maxLength: 2 }),
        fc.array(fc.tuple(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty')), badValue), { maxLength: 2 }),
      )
      .map(([seed, replaced, dropped, added]) => {
        const f: Record<string, unknown> = featuresFor(DEMO_FEATURE_NAMES, seed);
        for (const [name, value] of replaced) f[name] = value;
        for (const name of dropped) delete f[name];
        for (const [name, value] of added) Object.defineProperty(f, name, { value, enumerable: true, configurable: true, writable: true });
        return f;
      }),
  },
  { weight: 3, arbitrary: fc.nat(1_000).map((seed) => featuresFor(DEMO_FEATURE_NAMES, seed)) },
  { weight: 1, arbitrary: badValue },
  { weight: 1, arbitrary: fc.dictionary(hostileString, badValue, { maxKeys: 5 }) },
);

/** Any JSON where a variable of another type belongs. */
const wrongType = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom<unknown>(null, 1, 1.5, true, [], {}, ['SPY'], { ticker: 'SPY' }));

// ---------------------------------------------------------------------------

describe('hostile input never crashes and never reaches a key', () => {
  let stack: TestStack;
  const models = new Map<string, string>(); // ticker → model id

  async function send(query: string, variables: Record<string, unknown>, token?: string): Promise<GraphQLResponse & { raw: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(stack.server.graphqlUrl, { method: 'POST', headers, body: toBody(query, variables) });
    const text = await res.text();
    let json: GraphQLResponse;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`not a GraphQL response (HTTP ${res.status}): ${text.slice(0, 200)}`);
    }
    return { ...json, status: res.status, raw: text };
  }

  /** The invariant of every case: below 500, and either typed errors only or no errors at all. */
  const seenCodes = new Map<string, number>();
  function assertTypedOrAnswered(res: GraphQLResponse, what: unknown): boolean {
    const codes = codesOf(res);
    for (const c of codes.length ? codes : ['(answered)']) seenCodes.set(c, (seenCodes.get(c) ?? 0) + 1);
    const untyped = codes.filter((c) => !TYPED_ERROR_CODES.has(c));
    if (res.status >= 500 || untyped.length > 0) {
      throw new Error(`HTTP ${res.status}, codes ${JSON.stringify(codes)} for ${JSON.stringify(what)?.slice(0, 300)}: ${JSON.stringify(res.errors)?.slice(0, 500)}`);
    }
    return codes.length === 0;
  }

  async function productionVersion(model: string): Promise<string | undefined> {
    return (await stack.server.runtime.registry.stagePointer(model, 'PRODUCTION'))?.value.version;
  }

  afterEach((ctx) => {
    console.log(`${ctx.task.name}: ${[...seenCodes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
    seenCodes.clear();
  });

  beforeAll(async () => {
    stack = await startTestStack({ env: { MAX_BODY_BYTES: String(2 * 1024 * 1024) } });
    for (const a of (await stack.server.runtime.registry.assetDirectory()).assets) models.set(a.ticker, a.modelId);
    stack.server.s3!.resetRequests();
  });

  afterAll(async () => {
    // Assess, over everything every property sent: S3 saw only keys of the bucket layout.
    const requests = stack.server.s3!.requests();
    expect(requests.length).toBeGreaterThan(0);
    expect(keysOutsideLayout(requests)).toEqual([]);
    expect(new Set(requests.map((r) => r.bucket))).toEqual(new Set([LOCAL_BUCKET]));
    const prefixes = requests.filter((r) => r.key === '' && r.method === 'GET').map((r) => new URLSearchParams(r.query).get('prefix') ?? '');
    for (const p of prefixes) expect(p).toMatch(/^(etfs|stocks|universal|ensembles|experimental)\/([A-Za-z0-9._-]+\/(archive\/)?)?$/);
    // promote/rollback move stage pointers (and keep the bucket-wide registry and feed in step);
    // nothing they are given may write into a (immutable) version
    const writes = requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes) expect(w.key).toMatch(/^([^/]+\/[^/]+\/(production|staging)\/|metadata\/(model_registry|deployment_history)\.json$)/);
    await stack?.close();
  });

  it('predict(ticker, features)', async () => {
    const query = `query($ticker: String!, $features: JSONObject!) {
      predict(ticker: $ticker, features: $features) { ticker strategy confidence version model { id } probabilities { label probability } }
    }`;
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(ticker, hostileFeatures, async (ticker, features) => {
        const res = await send(query, { ticker, features });
        if (!assertTypedOrAnswered(res, { ticker, features })) return;
        answered++;
        // A correct answer: the asset's own model, its production version, a distribution over the labels
        const p = res.data!.predict;
        const expectedTicker = ticker.trim().toUpperCase();
        expect(p.ticker).toBe(expectedTicker);
        expect(p.model.id).toBe(models.get(expectedTicker));
        expect(p.version).toBe(await productionVersion(p.model.id));
        expect(OPTION_STRATEGIES).toContain(p.strategy);
        const total = p.probabilities.reduce((s: number, x: { probability: number }) => s + x.probability, 0);
        expect(total).toBeCloseTo(1, 4);
      }),
      params,
    );
    expect(answered).toBeGreaterThan(0);
  });

  it('predictMany(requests)', async () => {
    const query = `query($requests: [PredictionRequest!]!) { predictMany(requests: $requests) { ticker strategy version model { id } } }`;
    const row = fc.record({ ticker, features: hostileFeatures });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.array(row, { maxLength: 6 }), wrongType), async (requests) => {
        const res = await send(query, { requests });
        if (!assertTypedOrAnswered(res, requests)) return;
        const rows = requests as Array<{ ticker: string }>;
        expect(res.data!.predictMany.map((p: { ticker: string }) => p.ticker)).toEqual(rows.map((r) => r.ticker.trim().toUpperCase()));
      }),
      params,
    );
  });

  it('model(id), model.version(version) and what hangs off them', async () => {
    const query = `query($id: ID!, $version: String!) {
      model(id: $id) { id type production { version featureNames } versions { version } version(version: $version) { version sha256 stages } assets { ticker } history(first: 3) { toVersion } }
    }`;
    await fc.assert(
      fc.asyncProperty(hostileModelId, hostileVersion, async (id, version) => {
        const res = await send(query, { id, version });
        if (!assertTypedOrAnswered(res, { id, version })) return;
        const model = res.data!.model;
        if (model === null) return;
        expect(model.id).toBe(id);
        if (model.version) expect(model.version.version).toBe(version);
      }),
      params,
    );
  });

  it('deployments(model, first, after) and asset(ticker)', async () => {
    const query = `query($model: ID!, $first: Int, $after: ID, $ticker: String!) {
      deployments(model: $model, first: $first, after: $after) { id toVersion }
      asset(ticker: $ticker) { ticker model { id } }
    }`;
    const first = fc.oneof(fc.integer(), fc.constantFrom<unknown>(-1, 0, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 1e999, null, '5', 1.5));
    await fc.assert(
      fc.asyncProperty(hostileModelId, first, fc.option(hostileString), ticker, async (model, n, after, t) => {
        const res = await send(query, { model, first: n === 1e999 ? raw('1e999') : n, after, ticker: t });
        assertTypedOrAnswered(res, { model, n, after, t });
      }),
      params,
    );
  });

  it('variables of the wrong type', async () => {
    const query = `query($ticker: String!, $features: JSONObject!, $id: ID!) {
      predict(ticker: $ticker, features: $features) { strategy }
      model(id: $id) { id }
    }`;
    await fc.assert(
      fc.asyncProperty(wrongType, wrongType, wrongType, async (ticker, features, id) => {
        const res = await send(query, { ticker, features, id });
        assertTypedOrAnswered(res, { ticker, features, id });
      }),
      params,
    );
  });

  // graphql-armor's token plugin used to re-parse in a hook where syntax errors escaped as HTTP 500;
  // the token limit is now graphql-js's own parseOptions.maxTokens.
  it('a GraphQL syntax error is answered 400 GRAPHQL_PARSE_FAILED, not 500', async () => {
    const res = await send('{ about {', {});
    expect(res.status).toBe(400);
    expect(codesOf(res)).toEqual(['GRAPHQL_PARSE_FAILED']);
  });

  it('hostile strings inlined into the query text', async () => {
    await fc.assert(
      fc.asyncProperty(ticker, hostileModelId, fc.boolean(), async (ticker, id, escape) => {
        // JSON string syntax is GraphQL string syntax (except for lone surrogates, which GraphQL refuses);
        // unescaped, the text may break the document: a parse error is a typed answer too.
        const lit = (s: string) => (escape ? JSON.stringify(s) : `"${s}"`);
        const query = `{ asset(ticker: ${lit(ticker)}) { ticker } model(id: ${lit(id)}) { id } predict(ticker: ${lit(ticker)}, features: { iv_rank: 1e999 }) { strategy } }`;
        const res = await send(query, {});
        assertTypedOrAnswered(res, query);
      }),
      params,
    );
  });

  it('promote and rollback with the write token', async () => {
    const token = stack.server.writeToken;
    const promote = `mutation($model: ID!, $version: String!, $stage: Stage, $reason: String) {
      promote(model: $model, version: $version, stage: $stage, reason: $reason) { model { id } stage toVersion reason }
    }`;
    const rollback = `mutation($model: ID!, $to: String, $stage: Stage, $reason: String) {
      rollback(model: $model, to: $to, stage: $stage, reason: $reason) { model { id } stage toVersion }
    }`;
    const stage = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom<unknown>('PRODUCTION', 'STAGING', undefined) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>('production', 'ARCHIVE', '../PRODUCTION', 1, null) },
    );
    const reason = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(null, 'hostile-input test', 'rollback: bad \u{1F4C9} numbers') },
      { weight: 1, arbitrary: fc.oneof(hostileString, fc.constantFrom('x'.repeat(501), 'ok\u0007bell', 'two\nlines')) },
    );
    const model = fc.oneof({ weight: 3, arbitrary: plausibleModelId }, { weight: 1, arbitrary: hostileModelId });
    const version = fc.option(fc.oneof({ weight: 2, arbitrary: plausibleVersion }, { weight: 1, arbitrary: hostileVersion }));
    await fc.assert(
      fc.asyncProperty(fc.boolean(), model, version, stage, reason, async (isPromote, model, version, st, why) => {
        const res = isPromote
          ? await send(promote, { model, version: version ?? 'v1.0.0', stage: st, reason: why }, token)
          : await send(rollback, { model, to: version, stage: st, reason: why }, token);
        if (!assertTypedOrAnswered(res, { isPromote, model, version, st, why })) return;
        // A correct answer: the stage now points where the answer says
        const d = isPromote ? res.data!.promote : res.data!.rollback;
        expect(d.model.id).toBe(model);
        const pointer = await stack.server.runtime.registry.stagePointer(model, d.stage);
        expect(pointer?.value.version).toBe(d.toVersion);
        if (isPromote) expect(d.toVersion).toBe(version ?? 'v1.0.0');
      }),
      params,
    );
  });
});
