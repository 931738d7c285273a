import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { DEMO_ETFS, DEMO_UNIVERSAL_MODEL } from '../../src/local/demoSeed';
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
  '..',
  '.',
  '/',
  '//',
  '\\',
  '../',
  '..\\',
  '%2e%2e',
  '%2e%2e%2f',
  '%00',
  '\u0000',
  '\n',
  '\r\n',
  '\t',
  ' ',
  '\uFF0E',
  '\uFF0F',
  '\u2024',
  '\u2215',
  '\u202E',
  '\u200F',
  '\u200B',
  '\uFEFF',
  '\u0301',
  '\u0338',
  'ſ',
  'ß',
  'ﬀ',
  'İ',
  'ı',
  'Ａ',
  '𝐒',
  '😀',
  '\uD800',
  '\uDFFF',
  '$',
  '{',
  '}',
  '"',
  "'",
  '`',
  '*',
  '?',
  '#',
  '&',
  '=',
  '+',
  'A',
  'S',
  'P',
  'Y',
  'Q',
  'x',
  'v',
  '1',
  '0',
  '-',
  '_',
  'etfs',
  'stocks',
  'universal',
  'ensembles',
  'metadata',
  'archive',
  'production',
  'staging',
  'shared',
  'experimental',
  'SPY',
  'AAPL',
  'v1.0.0',
  'v1.1.0',
  'metadata.json',
  'model.onnx',
];

/** Strings built from path and unicode tricks, plus arbitrary unicode and a few huge ones. */
const hostileString = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.array(fc.constantFrom(...TRICKS), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-composite', maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'A'.repeat(13),
      'S'.repeat(5_000),
      '.'.repeat(100_000),
      `SPY${'\u0301'.repeat(1_000)}`,
      '../'.repeat(2_000),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'SPY',
      'spy',
      ' SPY ',
      'ſpy',
      'ＳＰＹ',
      'S\u0301PY',
      'SPY\u0000',
      'SPY/../QQQ',
      '../metadata/asset_registry',
      'BRK.B',
      'A..B',
      '.SPY',
      '-SPY',
      'AAPL',
      'NOPE',
      'QQQ',
      'XLF',
      'İWM',
      'S\u202EYP',
      '\u200FSPY',
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
  fc.constantFrom(
    'etfs/SPY',
    'etfs/QQQ',
    'etfs/XLF',
    'stocks/universal',
    'universal/all_assets_classifier',
    'ensembles/multi_asset_ensemble',
  ),
  fc.stringMatching(/^(etfs\/[A-Z]{1,5}|universal\/[a-z][a-z0-9_]{0,8}|ensembles\/[a-z]{1,8})$/),
);
const hostileModelId = fc.oneof(
  { weight: 2, arbitrary: hostileString },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          'etfs',
          'stocks',
          'universal',
          'ensembles',
          'metadata',
          'shared',
          'experimental',
          '..',
          '',
          'ETFS',
          'etfs/SPY',
        ),
        hostileString,
      )
      .map(([family, name]) => `${family}/${name}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'etfs/spy',
      'etfs/SPY/',
      'etfs//SPY',
      'etfs/..',
      'etfs/./SPY',
      'etfs/SPY/production',
      'universal/../etfs/SPY',
      'stocks/universal/archive',
      'etfs/ＳＰＹ',
      'etfs/ſpy',
      'stocks/UNIVERSAL',
      'universal/All',
      'etfs/SPY\u0000',
      'etfs/SPY%2F..',
    ),
  },
  { weight: 3, arbitrary: plausibleModelId },
);

const plausibleVersion = fc.oneof(
  fc.constantFrom('v1.0.0', 'v1.1.0'),
  fc.stringMatching(/^v[0-9]\.[0-9]\.[0-9](-rc[0-9])?$/),
);
const hostileVersion = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'v1.0.0/../v1.1.0',
      '../v1.0.0',
      'v1.0.0/',
      'v1.0.0\u0000',
      'v1\uFF0E0',
      'V1.0.0',
      '.',
      '..',
      'a'.repeat(64),
      'a'.repeat(65),
    ),
  },
  { weight: 3, arbitrary: plausibleVersion },
);

/** Raw JSON tokens spliced into the request body where a sentinel string stands (JSON.stringify cannot write them). */
const RAW = {
  '1e999': '1e999',
  '-1e999': '-1e999',
  '-0': '-0',
  '1e-400': '1e-400',
  big: '123456789012345678901234567890e300',
  deep: `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
} as const;
const raw = (token: keyof typeof RAW) => `__RAW_${token}__`;
function toBody(query: string, variables: Record<string, unknown>): string {
  let body = JSON.stringify({ query, variables });
  for (const [token, text] of Object.entries(RAW))
    body = body.split(JSON.stringify(raw(token as keyof typeof RAW))).join(text);
  return body;
}

const nested: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 1 }),
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(hostileString, tie('node'), { maxKeys: 3 }),
  ),
})).node;

const badValue = fc.oneof(
  fc.constantFrom<unknown>(
    raw('1e999'),
    raw('-1e999'),
    raw('-0'),
    raw('1e-400'),
    raw('big'),
    raw('deep'),
    'NaN',
    'Infinity',
    '-Infinity',
    '1e999',
    '',
    '0x10',
    ' 1',
    null,
    true,
    false,
    [],
    {},
    [1],
    { value: 1 },
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    2 ** 53 + 1,
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
        fc.array(
          fc.tuple(
            fc.oneof(
              hostileString,
              fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'),
            ),
            badValue,
          ),
          { maxLength: 2 },
        ),
      )
      .map(([seed, replaced, dropped, added]) => {
        const f: Record<string, unknown> = featuresFor(DEMO_FEATURE_NAMES, seed);
        for (const [name, value] of replaced) f[name] = value;
        for (const name of dropped) delete f[name];
        for (const [name, value] of added)
          Object.defineProperty(f, name, { value, enumerable: true, configurable: true, writable: true });
        return f;
      }),
  },
  { weight: 3, arbitrary: fc.nat(1_000).map((seed) => featuresFor(DEMO_FEATURE_NAMES, seed)) },
  { weight: 1, arbitrary: badValue },
  { weight: 1, arbitrary: fc.dictionary(hostileString, badValue, { maxKeys: 5 }) },
);

/** Any JSON where a variable of another type belongs. */
const wrongType = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(null, 1, 1.5, true, [], {}, ['SPY'], { ticker: 'SPY' }),
);

// ---------------------------------------------------------------------------

describe('hostile input never crashes and never reaches a key', () => {
  let stack: TestStack;
  const models = new Map<string, string>(); // ticker → model id
  /** `ensembles/{name}/archive/{version}/` of every registerEnsemble that answered (the only archive folders written). */
  const registeredVersions = new Set<string>();

  async function send(
    query: string,
    variables: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResponse & { raw: string }> {
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
      throw new Error(
        `HTTP ${res.status}, codes ${JSON.stringify(codes)} for ${JSON.stringify(what)?.slice(0, 300)}: ${JSON.stringify(res.errors)?.slice(0, 500)}`,
      );
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
    const prefixes = requests
      .filter((r) => r.key === '' && r.method === 'GET')
      .map((r) => new URLSearchParams(r.query).get('prefix') ?? '');
    for (const p of prefixes)
      expect(p).toMatch(/^(etfs|stocks|universal|ensembles|experimental)\/([A-Za-z0-9._-]+\/(archive\/)?)?$/);
    // promote/rollback move stage pointers (and keep the bucket-wide registry and feed in step);
    // nothing they are given may write into a (immutable) version
    const writes = requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes) {
      // registerEnsemble creates ensemble versions: write-once (If-None-Match: *), and only the ones it answered
      if (/^ensembles\/[^/]+\/archive\//.test(w.key)) {
        expect(w.method).toBe('PUT');
        expect(w.ifNoneMatch).toBe('*');
        if (w.status >= 200 && w.status < 300)
          expect(registeredVersions.has(w.key.slice(0, w.key.lastIndexOf('/') + 1)), w.key).toBe(true);
        continue;
      }
      // ...and the approval document registering one creates (If-None-Match: *, for a version it answered)
      if (/^ensembles\/[^/]+\/approvals\/[^/]+\.json$/.test(w.key)) {
        expect(w.method).toBe('PUT');
        expect(w.ifNoneMatch).toBe('*');
        if (w.status >= 200 && w.status < 300) {
          const version = w.key.replace(/\/approvals\/([^/]+)\.json$/, '/archive/$1/');
          expect(registeredVersions.has(version), w.key).toBe(true);
        }
        continue;
      }
      expect(w.key).toMatch(
        /^([^/]+\/[^/]+\/(production|staging)\/|metadata\/(model_registry|deployment_history|events\/watermark)\.json$|metadata\/shadow\/)/,
      );
    }
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
        expect(res.data!.predictMany.map((p: { ticker: string }) => p.ticker)).toEqual(
          rows.map((r) => r.ticker.trim().toUpperCase()),
        );
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
    const first = fc.oneof(
      fc.integer(),
      fc.constantFrom<unknown>(-1, 0, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 1e999, null, '5', 1.5),
    );
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

  // -------------------------------------------------------------------------
  // Model override, ensembles and traffic

  /** How the server reads a ticker: trimmed, ASCII letters upper-cased (never "ſ" → "S"). */
  const normTicker = (t: string) => t.trim().replace(/[a-z]/g, (c) => c.toUpperCase());
  const FAMILY_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
  /** Which models may answer an asset: its own, any universal/… model, any ensembles/… ensemble. */
  function overrideAllowed(model: string, own: string): boolean {
    const [family, name, ...rest] = model.split('/');
    if (model === own) return true;
    return (
      rest.length === 0 &&
      (family === 'universal' || family === 'ensembles') &&
      name !== undefined &&
      FAMILY_NAME.test(name)
    );
  }
  /** Well-formed ids of models that exist or could; those not allowed for an asset must be refused. */
  const OVERRIDES = [
    'universal/volatility_predictor',
    'universal/risk_scorer',
    'universal/all_assets_classifier',
    'ensembles/multi_asset_ensemble',
    'universal/nope',
    'ensembles/nope',
    'experimental/momentum_v2',
    'experimental/nope',
    'etfs/SPY',
    'etfs/QQQ',
    'etfs/DIA',
    'etfs/AAPL',
    'etfs/NOPE',
    'stocks/universal',
  ];
  const overrideModel = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom<string | null | undefined>(null, undefined) },
    { weight: 6, arbitrary: fc.constantFrom(...OVERRIDES) },
    { weight: 2, arbitrary: hostileModelId },
  );
  const knownTicker = fc.constantFrom('SPY', 'spy', ' QQQ', 'XLF', 'SMH', 'DIA', 'dia ', 'AAPL', 'msft', 'TSLA');
  const overrideTicker = fc.oneof({ weight: 6, arbitrary: knownTicker }, { weight: 1, arbitrary: ticker });
  const mostlyAuthorised = fc.constantFrom(true, true, true, true, false);
  /** A model id of the bucket layout's shape (safe to build a key from). */
  const wellFormedId = (id: string) =>
    /^(etfs\/[A-Z0-9][A-Z0-9.-]{0,11}|stocks\/universal|(universal|ensembles|experimental)\/[a-z0-9][a-z0-9_-]{0,63})$/.test(
      id,
    ) && !id.includes('..');
  const mostlyValidFeatures = fc.oneof(
    { weight: 5, arbitrary: fc.nat(1_000).map((seed) => featuresFor(DEMO_FEATURE_NAMES, seed)) },
    { weight: 1, arbitrary: hostileFeatures },
  );

  const PREDICTION_FIELDS = `ticker task strategy confidence version stage canary modelType model { id type }
    probabilities { label probability } outputs { name value }
    ensemble { voting members { model { id } version weight strategy confidence } }`;

  /** An answer is the one the named model's stage serves: version, task, columns and, for an ensemble, its pinned members. */
  async function expectServedAnswer(
    p: any,
    sentTicker: string,
    model: string | null | undefined,
    stage: 'PRODUCTION' | 'STAGING',
  ) {
    const t = normTicker(sentTicker);
    const own = models.get(t);
    expect(own, `answered for a ticker the registry does not hold: ${JSON.stringify(sentTicker)}`).toBeDefined();
    expect(p.ticker).toBe(t);
    const expected = model ?? own!;
    expect(overrideAllowed(expected, own!), `${t} answered by ${expected}`).toBe(true);
    expect(p.model.id).toBe(expected);
    if (p.canary) expect(stage).toBe('PRODUCTION');
    const served = p.canary ? 'STAGING' : stage;
    expect(p.stage).toBe(served);
    const pointer = (await stack.server.runtime.registry.stagePointer(expected, served))?.value;
    expect(pointer, `${expected} ${served} answered without a pointer`).toBeDefined();
    expect(p.version).toBe(pointer!.version);
    if (pointer!.task === 'regression') {
      expect(p).toMatchObject({ task: 'REGRESSION', strategy: null, confidence: null, probabilities: [] });
      expect(p.outputs.map((o: { name: string }) => o.name)).toEqual(pointer!.targets);
      for (const o of p.outputs) expect(Number.isFinite(o.value)).toBe(true);
    } else {
      expect(p.task).toBe('CLASSIFICATION');
      expect(p.outputs).toEqual([]);
      expect(p.probabilities.map((x: { label: string }) => x.label)).toEqual(pointer!.strategies);
      expect(pointer!.strategies).toContain(p.strategy);
      const total = p.probabilities.reduce((s: number, x: { probability: number }) => s + x.probability, 0);
      expect(total).toBeCloseTo(1, 4);
      expect(p.confidence).toBe(Math.max(...p.probabilities.map((x: { probability: number }) => x.probability)));
    }
    if (expected.startsWith('ensembles/')) {
      expect(p.modelType).toBe('ENSEMBLE');
      expect(p.ensemble.voting).toBe(pointer!.ensemble!.voting.toUpperCase());
      expect(p.ensemble.members.map((m: any) => ({ model: m.model.id, version: m.version, weight: m.weight }))).toEqual(
        pointer!.ensemble!.members,
      );
    } else {
      expect(p.ensemble).toBeNull();
    }
  }

  it('predict(ticker, features, model, stage): the model override', async () => {
    const query = `query($ticker: String!, $features: JSONObject!, $model: ID, $stage: Stage) {
      predict(ticker: $ticker, features: $features, model: $model, stage: $stage) { ${PREDICTION_FIELDS} }
    }`;
    const stage = fc.constantFrom<'PRODUCTION' | 'STAGING' | undefined>(
      undefined,
      undefined,
      undefined,
      'PRODUCTION',
      'STAGING',
    );
    let answered = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        overrideTicker,
        mostlyValidFeatures,
        overrideModel,
        stage,
        async (ticker, features, model, st) => {
          const res = await send(query, { ticker, features, model, stage: st });
          const ok = assertTypedOrAnswered(res, { ticker, model, st });
          const own = models.get(normTicker(ticker));
          // A well-formed id the asset may not use (another ETF's model, stocks/universal for an ETF, experimental/…) is refused
          if (own && model != null && OVERRIDES.includes(model) && !overrideAllowed(model, own)) {
            expect(ok, `${ticker} answered by ${model}`).toBe(false);
            expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
            refused++;
            return;
          }
          if (!ok) return;
          answered++;
          await expectServedAnswer(res.data!.predict, ticker, model, st ?? 'PRODUCTION');
        },
      ),
      params,
    );
    expect(answered).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
  });

  it('predictMany(requests) with PredictionRequest.model', async () => {
    const query = `query($requests: [PredictionRequest!]!) { predictMany(requests: $requests) { ${PREDICTION_FIELDS} } }`;
    const row = fc.record(
      { ticker: overrideTicker, features: mostlyValidFeatures, model: overrideModel },
      { requiredKeys: ['ticker', 'features'] },
    );
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 5 }), async (requests) => {
        const res = await send(query, { requests });
        const ok = assertTypedOrAnswered(res, requests);
        const refusedRow = requests.findIndex((r) => {
          const own = models.get(normTicker(r.ticker));
          return own !== undefined && r.model != null && OVERRIDES.includes(r.model) && !overrideAllowed(r.model, own);
        });
        if (refusedRow >= 0)
          expect(ok, `requests[${refusedRow}] answered by ${requests[refusedRow].model}`).toBe(false);
        if (!ok) {
          // One error for the whole field; a refused override names its row.
          expect(res.errors).toHaveLength(1);
          if (res.errors![0].extensions?.argument === 'model')
            expect(res.errors![0].message).toMatch(/^requests\[\d+\]: /);
          return;
        }
        answered++;
        const answers = res.data!.predictMany;
        expect(answers).toHaveLength(requests.length);
        for (const [i, r] of requests.entries()) await expectServedAnswer(answers[i], r.ticker, r.model, 'PRODUCTION');
      }),
      { ...params, numRuns: RUNS / 2 },
    );
    expect(answered).toBeGreaterThan(5);
  });

  it('registerEnsemble(model, version, members, voting, description) with the write token', async () => {
    const { registry, deployments, store } = stack.server.runtime;
    // Every classifier of the demo bucket (a generated etfs/… id may name any of them).
    const CLASSIFIERS = [...Object.keys(DEMO_ETFS).map((t) => `etfs/${t}`), 'stocks/universal', DEMO_UNIVERSAL_MODEL];
    const NOT_MEMBERS = [
      'universal/risk_scorer',
      'universal/volatility_predictor',
      'ensembles/multi_asset_ensemble',
      'experimental/momentum_v2',
      'etfs/NOPE',
      'universal/nope',
    ];
    const versionsOf = new Map<string, string[]>();
    for (const m of CLASSIFIERS) versionsOf.set(m, await registry.listVersions(m));
    expect(versionsOf.get('etfs/SPY')).toEqual(expect.arrayContaining(['v1.0.0', 'v1.1.0']));

    const REGISTER = `mutation($model: ID!, $version: String!, $members: [EnsembleMemberInput!]!, $voting: VotingMethod!, $description: String) {
      registerEnsemble(model: $model, version: $version, members: $members, voting: $voting, description: $description) {
        model { id } version labels featureNames modelFile ensemble { voting members { model { id } version weight } }
      }
    }`;
    const PREDICT = `query($features: JSONObject!, $model: ID) { predict(ticker: "SPY", features: $features, model: $model, stage: STAGING) { ${PREDICTION_FIELDS} } }`;

    const ensembleId = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.constantFrom('ensembles/multi_asset_ensemble', 'ensembles/hostile_a', 'ensembles/hostile-b'),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'etfs/SPY',
          'universal/hostile',
          'ensembles/',
          'ensembles/Hostile',
          'ensembles/a/b',
          'ensembles/../etfs/SPY',
        ),
      },
      { weight: 1, arbitrary: hostileModelId },
    );
    const newVersion = fc.oneof(
      { weight: 5, arbitrary: fc.oneof(fc.constantFrom('v1.0.0', 'v2', 'v3'), fc.stringMatching(/^v[0-9]\.[0-9]$/)) },
      { weight: 1, arbitrary: hostileVersion },
    );
    const goodWeight = fc.double({ min: 0.001, max: 1_000, noNaN: true });
    const badWeight = fc.constantFrom<unknown>(
      0,
      -0,
      -1,
      -Number.MIN_VALUE,
      1e6 + 1,
      1e300,
      Number.MAX_VALUE,
      raw('1e999'),
      raw('-1e999'),
      raw('-0'),
      raw('1e-400'),
      raw('big'),
      'NaN',
      'Infinity',
      '1',
      null,
      true,
      [1],
      { value: 1 },
    );
    // Number.MIN_VALUE is a valid weight (positive, finite): see the known-bug test below.
    const weight = fc.oneof(
      { weight: 12, arbitrary: goodWeight },
      { weight: 2, arbitrary: fc.constantFrom(1e6, 1e-300, 1) },
      { weight: 2, arbitrary: badWeight },
    );
    const memberVersion = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom<string | null | undefined>(undefined, null) },
      { weight: 4, arbitrary: fc.constantFrom('v1.0.0', 'v1.0.0', 'v1.1.0', 'v0.1.0', 'v9.9.9') },
      { weight: 1, arbitrary: hostileVersion },
    );
    const memberModel = fc.oneof(
      { weight: 16, arbitrary: fc.constantFrom(...CLASSIFIERS) },
      { weight: 2, arbitrary: fc.constantFrom(...NOT_MEMBERS) },
      { weight: 1, arbitrary: hostileModelId },
    );
    const member = fc.oneof(
      {
        weight: 20,
        arbitrary: fc.record(
          { model: memberModel, version: memberVersion, weight },
          { requiredKeys: ['model', 'weight'] },
        ),
      },
      { weight: 1, arbitrary: wrongType },
    );
    const members = fc.oneof(
      { weight: 10, arbitrary: fc.array(member, { minLength: 1, maxLength: 3 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<unknown[]>(
          [],
          Array.from({ length: 17 }, (_, i) => ({ model: CLASSIFIERS[i % CLASSIFIERS.length], weight: 1 })),
        ),
      },
      { weight: 1, arbitrary: wrongType },
    );
    const voting = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('SOFT', 'HARD') },
      { weight: 1, arbitrary: fc.constantFrom<unknown>('soft', 'hard', 'MAJORITY', 'SOFT ', 1, null, ['SOFT']) },
    );
    const description = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.constantFrom<string | null | undefined>(
          undefined,
          null,
          '',
          'hostile-input ensemble',
          'two\nlines\tand a tab',
          'ünïcödé 📈',
        ),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom('x'.repeat(2_000), 'x'.repeat(2_001), 'bell\u0007', 'nul\u0000', 'del\u007f'),
      },
      { weight: 1, arbitrary: hostileString },
    );

    /** Whether the registration is valid as the schema documents it (independent of the server's code). */
    function documentedValid(model: string, version: string, ms: unknown, vote: unknown, desc: unknown): boolean {
      const [family, name, ...rest] = model.split('/');
      if (family !== 'ensembles' || rest.length || name === undefined || !FAMILY_NAME.test(name)) return false;
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(version) || version.includes('..')) return false;
      if (vote !== 'SOFT' && vote !== 'HARD') return false;
      if (
        desc != null &&
        (typeof desc !== 'string' || desc.length > 2_000 || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(desc))
      )
        return false;
      if (!Array.isArray(ms) || ms.length < 1 || ms.length > 16) return false;
      if (new Set(ms.map((m) => (m as { model?: unknown })?.model)).size !== ms.length) return false;
      return ms.every((m) => {
        if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
        const { model: id, version: v, weight: w } = m as Record<string, unknown>;
        if (typeof id !== 'string' || !CLASSIFIERS.includes(id)) return false;
        if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0 || w > 1e6) return false;
        return v == null || (typeof v === 'string' && versionsOf.get(id)!.includes(v));
      });
    }
    const isVersionKeySafe = (model: string, version: string) =>
      /^ensembles\/[a-z0-9][a-z0-9_-]{0,63}$/.test(model) &&
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(version) &&
      !version.includes('..');

    let answered = 0;
    let conflicts = 0;
    let predicted = 0;
    await fc.assert(
      fc.asyncProperty(
        ensembleId,
        newVersion,
        members,
        voting,
        description,
        mostlyAuthorised,
        async (model, version, ms, vote, desc, authorised) => {
          const safe = isVersionKeySafe(model, version);
          const existed = safe ? (await store.head(`${model}/archive/${version}/metadata.json`)) !== undefined : false;
          // production versions at the time: what a member without a version is pinned to
          const production = new Map<string, string | undefined>();
          for (const m of CLASSIFIERS) production.set(m, (await registry.stagePointer(m, 'PRODUCTION'))?.value.version);
          const vars = { model, version, members: ms, voting: vote, description: desc };
          const res = await send(REGISTER, vars, authorised ? stack.server.writeToken : undefined);
          const ok = assertTypedOrAnswered(res, vars);
          const valid = documentedValid(model, version, ms, vote, desc);
          if (!authorised) {
            expect(ok).toBe(false);
            expect(codesOf(res).every((c) => c === 'UNAUTHENTICATED' || c === 'BAD_USER_INPUT')).toBe(true);
          } else if (valid && existed) {
            expect(
              codesOf(res),
              `${JSON.stringify(vars)} registered over an existing version: ${JSON.stringify(res.data)}`,
            ).toEqual(['CONFLICT']);
            conflicts++;
          } else if (valid) {
            expect(ok, `a documented-valid registration failed: ${JSON.stringify(res.errors)}`).toBe(true);
          }
          if (!ok) {
            // Nothing was written: a version that did not exist still does not.
            if (safe && !existed) expect(await store.head(`${model}/archive/${version}/metadata.json`)).toBeUndefined();
            return;
          }
          expect(valid, `answered an invalid registration ${JSON.stringify(vars)?.slice(0, 300)}`).toBe(true);
          answered++;
          registeredVersions.add(`${model}/archive/${version}/`);

          // A correct answer: the version, stored once, pins every member to an exact version with its weight.
          const sent = ms as Array<{ model: string; version?: string | null; weight: number }>;
          const pinned = sent.map((m) => ({
            model: m.model,
            version: m.version ?? production.get(m.model)!,
            weight: m.weight,
          }));
          const r = res.data!.registerEnsemble;
          expect(r).toMatchObject({
            model: { id: model },
            version,
            labels: [...OPTION_STRATEGIES],
            featureNames: DEMO_FEATURE_NAMES,
            modelFile: 'ensemble_weights.json',
          });
          expect(r.ensemble).toEqual({
            voting: vote,
            members: pinned.map((m) => ({ model: { id: m.model }, version: m.version, weight: m.weight })),
          });
          const stored = await registry.versionMetadata(model, version);
          expect(stored.ensemble).toEqual({ voting: String(vote).toLowerCase(), members: pinned });
          expect(stored.description ?? null).toBe(desc || null); // an empty description is none

          // It serves: staged and asked through the model override, the vote is over exactly those members.
          if (pinned.some((m) => m.weight < 2.2250738585072014e-308)) return; // subnormal weights: known bug, see below
          await deployments.promote({
            model,
            version,
            stage: 'STAGING',
            by: 'hostile-input',
            reason: 'try the registered ensemble',
          });
          const features = featuresFor(DEMO_FEATURE_NAMES, answered);
          const pred = await send(PREDICT, { features, model });
          expect(pred.errors).toBeUndefined();
          const p = pred.data!.predict;
          await expectServedAnswer(p, 'SPY', model, 'STAGING');
          expect(p.version).toBe(version);
          if (vote === 'HARD') {
            // Probabilities are the members' vote shares.
            const total = pinned.reduce((s, m) => s + m.weight, 0);
            const shares = new Map<string, number>();
            for (const m of p.ensemble.members)
              shares.set(m.strategy, (shares.get(m.strategy) ?? 0) + m.weight / total);
            for (const x of p.probabilities) expect(x.probability).toBeCloseTo(shares.get(x.label) ?? 0, 5);
          }
          if (pinned.length === 1) expect(p.strategy).toBe(p.ensemble.members[0].strategy);
          predicted++;
        },
      ),
      params,
    );
    expect(answered).toBeGreaterThan(10);
    expect(conflicts).toBeGreaterThan(0);
    expect(predicted).toBeGreaterThan(5);
  });

  // Found by the registerEnsemble property: the soft vote computed (w · p) / Σw, which underflows to 0 for a
  // subnormal weight such as Number.MIN_VALUE, so the "probabilities" summed to 0 and the strategy was the
  // first label with confidence 0. It now computes (w / Σw) · p.
  it('a soft ensemble with a subnormal weight still answers a probability distribution', async () => {
    const { deployments } = stack.server.runtime;
    const reg = await send(
      `mutation { registerEnsemble(model: "ensembles/subnormal_weight", version: "v1", voting: SOFT, members: [{ model: "etfs/SPY", version: "v1.1.0", weight: 5e-324 }]) { version } }`,
      {},
      stack.server.writeToken,
    );
    expect(reg.errors).toBeUndefined(); // accepted: 5e-324 is positive and finite
    registeredVersions.add('ensembles/subnormal_weight/archive/v1/');
    await deployments.promote({
      model: 'ensembles/subnormal_weight',
      version: 'v1',
      stage: 'STAGING',
      by: 'hostile-input',
    });
    for (const seed of [1, 2]) {
      const features = featuresFor(DEMO_FEATURE_NAMES, seed);
      const res = await send(
        `query($f: JSONObject!) { predict(ticker: "SPY", features: $f, model: "ensembles/subnormal_weight", stage: STAGING) { ${PREDICTION_FIELDS} } }`,
        { f: features },
      );
      const p = res.data!.predict;
      // One member: the vote is the member's own answer.
      expect(p.strategy).toBe(p.ensemble.members[0].strategy);
      expect(p.probabilities.reduce((s: number, x: { probability: number }) => s + x.probability, 0)).toBeCloseTo(1, 4);
    }
  });

  it('configureTraffic(model, shadow, canaryPercent, reason)', async () => {
    const { registry, deployments } = stack.server.runtime;
    const CONFIGURE = `mutation($model: ID!, $shadow: Boolean, $canaryPercent: Float, $reason: String) {
      configureTraffic(model: $model, shadow: $shadow, canaryPercent: $canaryPercent, reason: $reason) {
        id action stage model { id } fromVersion toVersion by reason generation traffic { shadow canaryPercent }
      }
    }`;
    const DEPLOYED = [
      'etfs/SPY',
      'etfs/QQQ',
      'stocks/universal',
      'universal/risk_scorer',
      'ensembles/multi_asset_ensemble',
    ];
    const NOT_DEPLOYED = ['experimental/momentum_v2', 'universal/nope', 'etfs/NOPE'];
    const model = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...DEPLOYED) },
      { weight: 1, arbitrary: fc.constantFrom(...NOT_DEPLOYED) },
      { weight: 2, arbitrary: hostileModelId },
    );
    const shadow = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom<unknown>(true, false, null, undefined) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>('true', 1, 0, [true], {}) },
    );
    const canary = fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom<unknown>(null, undefined) },
      { weight: 3, arbitrary: fc.double({ min: 0, max: 100, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(0, 100, 50, 12.5, Number.MIN_VALUE, 99.99999999) },
      {
        weight: 2,
        arbitrary: fc.constantFrom<unknown>(
          -1,
          -Number.MIN_VALUE,
          100.00000001,
          101,
          1e300,
          Number.MAX_VALUE,
          -Number.MAX_VALUE,
          raw('1e999'),
          raw('-1e999'),
          raw('-0'),
          raw('1e-400'),
          raw('big'),
          'NaN',
          '50',
          'Infinity',
          true,
          [50],
          { percent: 50 },
        ),
      },
      { weight: 1, arbitrary: fc.double() },
    );
    const reason = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(null, undefined, 'hostile-input traffic') },
      { weight: 1, arbitrary: fc.oneof(hostileString, fc.constantFrom('x'.repeat(501), 'bell\u0007')) },
    );
    /** The JSON number the server receives for a raw token. */
    const RAW_VALUES: Record<string, number> = {
      [raw('-0')]: 0,
      [raw('1e-400')]: 0,
      [raw('1e999')]: Infinity,
      [raw('-1e999')]: -Infinity,
      [raw('big')]: Infinity,
    };
    const asNumber = (v: unknown) => (typeof v === 'string' && v in RAW_VALUES ? RAW_VALUES[v] : v);

    let answered = 0;
    await fc.assert(
      fc.asyncProperty(model, shadow, canary, reason, mostlyAuthorised, async (id, sh, cp, why, authorised) => {
        // Only well-formed ids are read from the bucket by the test itself (the key check covers the test's requests too).
        const known = wellFormedId(id);
        const before = known ? await deployments.currentPointer(id, 'PRODUCTION') : null;
        const vars = { model: id, shadow: sh, canaryPercent: cp, reason: why };
        const res = await send(CONFIGURE, vars, authorised ? stack.server.writeToken : undefined);
        const ok = assertTypedOrAnswered(res, vars);
        const percent = asNumber(cp);
        const percentValid =
          percent == null ||
          (typeof percent === 'number' && Number.isFinite(percent) && percent >= 0 && percent <= 100);
        const shadowValid = sh == null || typeof sh === 'boolean';
        const reasonValid =
          why == null ||
          (typeof why === 'string' && why.length <= 500 && !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(why));
        const given = sh != null || percent != null;
        if (!authorised || !percentValid || !shadowValid || !given) expect(ok, JSON.stringify(vars)).toBe(false);
        if (!authorised)
          expect(codesOf(res).every((c) => c === 'UNAUTHENTICATED' || c === 'BAD_USER_INPUT')).toBe(true);
        else if (!percentValid || !given)
          expect(new Set(codesOf(res))).toEqual(new Set(['BAD_USER_INPUT'])); // one per bad variable
        else if (NOT_DEPLOYED.includes(id) && shadowValid && reasonValid)
          expect(codesOf(res)).toEqual([id.startsWith('experimental/') ? 'MODEL_NOT_DEPLOYED' : 'MODEL_NOT_FOUND']);
        else if (DEPLOYED.includes(id) && shadowValid && reasonValid) expect(ok, JSON.stringify(res.errors)).toBe(true);
        if (!ok) {
          // Nothing changed
          if (known) expect((await deployments.currentPointer(id, 'PRODUCTION'))?.etag).toBe(before?.etag);
          return;
        }
        answered++;
        // A correct answer: one TRAFFIC entry on the production pointer, the version kept, omitted settings kept.
        expect(before, `${id} has no production pointer, yet configureTraffic answered`).not.toBeNull();
        const was = before!.value.traffic ?? { shadow: false, canary_percent: 0 };
        const expected = {
          shadow: sh ?? was.shadow,
          canaryPercent: (percent as number | null | undefined) ?? was.canary_percent,
        };
        const d = res.data!.configureTraffic;
        expect(d).toMatchObject({
          action: 'TRAFFIC',
          stage: 'PRODUCTION',
          model: { id },
          fromVersion: before!.value.version,
          toVersion: before!.value.version,
          generation: before!.value.generation + 1,
        });
        expect(d.traffic.shadow).toBe(expected.shadow);
        expect(d.traffic.canaryPercent === expected.canaryPercent).toBe(true); // -0 and 0 alike
        const after = (await deployments.currentPointer(id, 'PRODUCTION'))!.value;
        expect(after.version).toBe(before!.value.version);
        // (-0 + 0 is 0: a canaryPercent of -0 is kept as -0 in memory and stored as 0 — the same setting)
        const plain = (t: { shadow: boolean; canary_percent: number } | undefined) =>
          t && { ...t, canary_percent: t.canary_percent + 0 };
        expect(plain(after.traffic)).toEqual({ shadow: d.traffic.shadow, canary_percent: d.traffic.canaryPercent });
        expect(after.history.slice(before!.value.history.length)).toEqual([
          expect.objectContaining({
            id: d.id,
            action: 'TRAFFIC',
            traffic: after.traffic,
            reason: why ?? null,
            from: before!.value.version,
            to: before!.value.version,
          }),
        ]);
        // The server serves with the new settings (it wrote them).
        expect(plain((await registry.stagePointer(id, 'PRODUCTION'))?.value.traffic)).toEqual(plain(after.traffic));
      }),
      params,
    );
    expect(answered).toBeGreaterThan(20);
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
    const version = fc.option(
      fc.oneof({ weight: 2, arbitrary: plausibleVersion }, { weight: 1, arbitrary: hostileVersion }),
    );
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
