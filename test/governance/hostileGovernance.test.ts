/**
 * Hostile input for the governance API, generated with fast-check and sent as
 * real GraphQL over HTTP to the local server: alias names, tags (every JSON
 * type, nested objects, too many, too long), notes and reasons, promotion
 * policies (negative, non-finite, > 1, huge, unknown fields), and model ids
 * and versions for every new mutation and for searchVersions /
 * compareVersions. Every case ends in a typed error (BAD_USER_INPUT for bad
 * input) or a correct answer — never INTERNAL_SERVER_ERROR, never a 5xx — and
 * where the input is well-formed the answer is checked against an oracle
 * computed here. No key outside the layout is ever requested or written: the
 * bucket's keys before and after are compared with the governance layout.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type GraphQLResponse, type TestStack } from '../support/stack';
import { BUCKET_LAYOUT, TYPED_ERROR_CODES, codesOf } from '../reliability/support';
import { publish, snapshot } from './support';

const RUNS = 120;
const params = { numRuns: RUNS, seed: 20_261_204, endOnFailure: true } as const;

const MODELS = ['universal/gov_hostile', 'universal/gov_hostile_b'] as const;
const VERSIONS = ['v1', 'v2.0', 'v3-rc1'] as const;
const TYPED = new Set([...TYPED_ERROR_CODES, 'POLICY_VIOLATION']);

// ---------------------------------------------------------------------------
// Arbitraries

const TRICKS = [
  '..',
  '.',
  '/',
  '\\',
  '../',
  '%2e%2e%2f',
  '%00',
  '\u0000',
  '\n',
  '\t',
  ' ',
  '\u007f',
  '\uFF0E',
  '\uFF0F',
  '\u2215',
  '\u202E',
  '\u200B',
  '\uFEFF',
  '\u0301',
  'ſ',
  'İ',
  'Ａ',
  '😀',
  '\uD800',
  '$',
  '{',
  '"',
  '*',
  '?',
  '#',
  'a',
  'z',
  '0',
  '-',
  '_',
  'production',
  'staging',
  'aliases',
  'approvals',
  'tags',
  'policy.json',
  'metadata',
  'archive',
  'v1',
  'champion',
];

const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...TRICKS), { minLength: 1, maxLength: 6 }).map((p) => p.join('')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-composite', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('a'.repeat(5_000), '../'.repeat(2_000), `a${'\u0301'.repeat(1_000)}`) },
);

const validAlias = fc.stringMatching(/^[a-z][a-z0-9_-]{0,62}$/);
const aliasName = fc.oneof(
  { weight: 4, arbitrary: validAlias },
  { weight: 4, arbitrary: fc.constantFrom('champion', 'paper', 'high-vol', 'a', `a${'b'.repeat(62)}`) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'production',
      'staging',
      'Production',
      'champion/..',
      '../champion',
      'champion/x',
      'a..b',
      '..',
      '.',
      '',
      '-a',
      '_a',
      '1a',
      'Champion',
      'champion ',
      ' champion',
      'champion\u0000',
      'champion\n',
      'champ\u0007ion',
      'chámpion',
      'ｃhampion',
      'champion.json',
      'champion%2F..',
      `a${'b'.repeat(63)}`,
      'a'.repeat(10_000),
    ),
  },
  { weight: 2, arbitrary: hostileString },
);
const isValidAlias = (a: unknown) =>
  typeof a === 'string' && /^[a-z][a-z0-9_-]{0,62}$/.test(a) && a !== 'production' && a !== 'staging';

const modelId = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(...MODELS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'universal/not_there',
      'etfs/NOPE',
      'universal/gov_hostile/',
      'universal/gov_hostile/aliases',
      'universal/../universal/gov_hostile',
      'universal//gov_hostile',
      'universal/GOV_HOSTILE',
      'universal/gov_hostile\u0000',
      'metadata/events',
      'universal/gov_hostile/approvals/v1.json',
      '',
    ),
  },
  { weight: 2, arbitrary: hostileString },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('universal', 'etfs', '..', ''), hostileString).map(([f, n]) => `${f}/${n}`),
  },
);
const version = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(...VERSIONS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('v9', 'v1/', '../v1', 'v1/../v2.0', 'v1\u0000', 'V1', '.', '..', 'a'.repeat(65), ''),
  },
  { weight: 2, arbitrary: hostileString },
);

/** Reasons and notes: none, plain, control characters, at and beyond 500 characters. */
const reason = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null) },
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 495, maxLength: 505 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'x'.repeat(500),
      'x'.repeat(501),
      '😀'.repeat(250),
      '😀'.repeat(251),
      'line\nnext\ttab',
      'a\u0000b',
      'bell\u0007',
      'esc\u001b[31m',
      'del\u007f',
      '\u202Eevil',
      '\r\n',
      'x'.repeat(100_000),
    ),
  },
);
const isValidReason = (r: unknown) =>
  r == null || (typeof r === 'string' && r.length <= 500 && !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r));

/** Raw JSON tokens spliced into the body where a sentinel stands (JSON.stringify cannot write them); `value` is what JSON.parse makes of them on the server. */
const RAW = {
  inf: { text: '1e999', value: Infinity },
  ninf: { text: '-1e999', value: -Infinity },
  nzero: { text: '-0', value: -0 },
  tiny: { text: '1e-400', value: 0 },
  big: { text: '123456789012345678901234567890e300', value: Infinity },
} as const;
type RawToken = keyof typeof RAW;
const raw = (t: RawToken) => `__RAW_${t}__`;
function toBody(query: string, variables: Record<string, unknown>): string {
  let body = JSON.stringify({ query, variables });
  for (const [t, { text }] of Object.entries(RAW)) body = body.split(JSON.stringify(raw(t as RawToken))).join(text);
  return body;
}
/** The value the server sees for `v` (raw tokens and JSON's own changes applied). */
function asServerSees(v: unknown): unknown {
  if (typeof v === 'string') {
    const token = /^__RAW_(\w+)__$/.exec(v)?.[1] as RawToken | undefined;
    if (token && RAW[token]) return RAW[token].value;
  }
  if (Array.isArray(v)) return v.map(asServerSees);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asServerSees(x)]));
  if (typeof v === 'number' && !Number.isFinite(v)) return null; // JSON.stringify writes null
  return v;
}

/** Tag values of every JSON type, nested objects, long strings. */
const tagValue = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(256), 'x'.repeat(257), '😀'.repeat(128), 'a\u0000b', '') },
);
const tagKey = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'team',
      'dataset',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      '',
      'a'.repeat(64),
      'a'.repeat(65),
      'a/b',
      '..',
      'é',
      'a b',
      'a\u0000',
    ),
  },
  { weight: 1, arbitrary: hostileString },
);
/** Tags a client would send (string, number and boolean values). */
const plainTags = fc.dictionary(
  fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/),
  fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean()),
  { maxKeys: 4 },
);
const tags = fc.oneof(
  { weight: 4, arbitrary: plainTags },
  { weight: 5, arbitrary: fc.dictionary(tagKey, tagValue, { maxKeys: 6 }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 48, max: 53 })
      .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]))),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, [], ['a'], 'team=vol', 1, true, { a: { b: { c: 'd' } } }) },
);
/** The tags the server must store for `input`, or null when it must refuse them. */
function expectedTags(input: unknown): Record<string, string> | null {
  const seen = JSON.parse(JSON.stringify(asServerSees(input)) ?? 'null') as unknown;
  if (!seen || typeof seen !== 'object' || Array.isArray(seen)) return null;
  const entries = Object.entries(seen);
  if (entries.length > 50) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(k) || k === '__proto__') return null;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return null;
    if (String(v).length > 256) return null;
    Object.defineProperty(out, k, { value: String(v), enumerable: true, configurable: true, writable: true });
  }
  return out;
}
const description = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string({ maxLength: 30 }),
  fc.constantFrom('d'.repeat(2_000), 'd'.repeat(2_001), 'tab\tand\nnewline', 'nul\u0000', 'esc\u001b'),
);
const isValidDescription = (d: unknown) =>
  d == null || (typeof d === 'string' && d.length <= 2000 && !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(d));

const intRule = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -10, max: 200_000 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      -1,
      0,
      100_000,
      100_001,
      2 ** 31 - 1,
      2 ** 31,
      1e12,
      1.5,
      raw('inf'),
      raw('nzero'),
      raw('big'),
      'NaN',
      '5',
      null,
      true,
      [],
      {},
    ),
  },
  { weight: 1, arbitrary: fc.double() },
);
const rateRule = fc.oneof(
  { weight: 3, arbitrary: fc.double({ min: -1, max: 2, noNaN: true }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      0,
      1,
      0.5,
      1.0000001,
      -0.0001,
      Number.MIN_VALUE,
      raw('inf'),
      raw('ninf'),
      raw('nzero'),
      raw('tiny'),
      'NaN',
      'Infinity',
      '0.9',
      null,
      false,
    ),
  },
  { weight: 1, arbitrary: fc.double() },
);
/** Policies a client would send. */
const plainPolicy = fc.record(
  {
    requireApproval: fc.boolean(),
    minShadowRows: fc.integer({ min: 0, max: 1_000_000 }),
    minShadowAgreement: fc.double({ min: 0, max: 1, noNaN: true }),
    minRealizedPredictions: fc.nat(),
    minRealizedAccuracy: fc.double({ min: 0, max: 1, noNaN: true }),
    maxFeatureChanges: fc.integer({ min: 0, max: 100_000 }),
  },
  { requiredKeys: [] },
);
const policy = fc.oneof(
  { weight: 4, arbitrary: plainPolicy },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        requireApproval: fc.constantFrom<unknown>(true, false, null, 'yes', 1, 0),
        minShadowRows: intRule,
        minShadowAgreement: rateRule,
        minRealizedPredictions: intRule,
        minRealizedAccuracy: rateRule,
        maxFeatureChanges: intRule,
      },
      { requiredKeys: [] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.record({ minShadowRows: fc.nat(100) }, { requiredKeys: [] }),
        fc.constantFrom({ minSharpe: 1 }, { requireapproval: true }, { __proto__x: 1 }, { 'min-shadow-rows': 3 }),
      )
      .map(([a, b]) => ({ ...a, ...b })),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, [], 'requireApproval', 1, [{ requireApproval: true }]) },
);
const INT_MAX: Record<string, number> = {
  minShadowRows: 2 ** 31 - 1,
  minRealizedPredictions: 2 ** 31 - 1,
  maxFeatureChanges: 100_000,
};
/** The rules the server must store for `input` (as Model.policy.rules answers them), or null when it must refuse. */
function expectedRules(input: unknown): Record<string, unknown> | null {
  const seen = asServerSees(input);
  if (!seen || typeof seen !== 'object' || Array.isArray(seen)) return null;
  const rules: Record<string, unknown> = {
    requireApproval: false,
    minShadowRows: null,
    minShadowAgreement: null,
    minRealizedPredictions: null,
    minRealizedAccuracy: null,
    maxFeatureChanges: null,
  };
  for (const [k, v] of Object.entries(seen)) {
    if (!(k in rules)) return null; // unknown field
    if (v === null) continue;
    if (k === 'requireApproval') {
      if (typeof v !== 'boolean') return null;
      rules[k] = v;
    } else if (k in INT_MAX) {
      // GraphQL Int (32-bit), then the rule's range
      if (typeof v !== 'number' || !Number.isInteger(v) || v > 2 ** 31 - 1 || v < -(2 ** 31)) return null;
      if (v < 0 || v > INT_MAX[k]) return null;
      rules[k] = v === 0 ? 0 : v;
    } else {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) return null;
      rules[k] = v === 0 ? 0 : v;
    }
  }
  return rules;
}

// ---------------------------------------------------------------------------

const M = String.raw`(${MODELS.map((m) => m.replace(/[/.]/g, '\\$&')).join('|')})`;
const V = String.raw`(${VERSIONS.map((v) => v.replace(/[.-]/g, '\\$&')).join('|')})`;
/** Keys the governance mutations may write: their documents of the models and versions that exist, and the events watermark. */
const WRITABLE = new RegExp(
  [
    String.raw`^${M}/approvals/${V}\.json$`,
    String.raw`^${M}/aliases/[a-z][a-z0-9_-]{0,62}\.json$`,
    String.raw`^${M}/tags/${V}\.json$`,
    String.raw`^${M}/policy\.json$`,
    String.raw`^${M}/(production|staging)/metadata\.json$`,
    String.raw`^metadata/events/watermark\.json$`,
  ].join('|'),
);
describe('hostile input to the governance API: typed errors or correct answers, no key outside the layout', () => {
  let stack: TestStack;
  let admin: string;
  let writer: string;
  let reviewer: string;
  let before: Record<string, string>;
  const seenCodes = new Map<string, number>();

  async function send(query: string, variables: Record<string, unknown>, token?: string | null) {
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
    return { ...json, status: res.status };
  }

  /** Below 500 and typed errors only (answered: true), or no errors at all. */
  function typedOrAnswered(res: GraphQLResponse, what: unknown): boolean {
    const codes = codesOf(res);
    for (const c of codes.length ? codes : ['(answered)']) seenCodes.set(c, (seenCodes.get(c) ?? 0) + 1);
    const untyped = codes.filter((c) => !TYPED.has(c));
    if (res.status >= 500 || untyped.length > 0) {
      throw new Error(
        `HTTP ${res.status}, codes ${JSON.stringify(codes)} for ${JSON.stringify(what)?.slice(0, 300)}: ${JSON.stringify(res.errors)?.slice(0, 500)}`,
      );
    }
    return codes.length === 0;
  }

  /** Refused as bad input: one BAD_USER_INPUT per bad variable or argument, nothing else. */
  function expectBadInput(res: GraphQLResponse): void {
    expect(codesOf(res).length).toBeGreaterThan(0);
    expect(new Set(codesOf(res))).toEqual(new Set(['BAD_USER_INPUT']));
  }

  /** Some cases of every property must have been answered (the oracle was exercised). */
  const expectSomeAnswered = () => expect(seenCodes.get('(answered)') ?? 0).toBeGreaterThanOrEqual(5);

  const wellFormed = (m: unknown, v?: unknown) =>
    (MODELS as readonly unknown[]).includes(m) && (v === undefined || (VERSIONS as readonly unknown[]).includes(v));

  afterEach((ctx) => {
    console.log(`${ctx.task.name}: ${[...seenCodes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
    seenCodes.clear();
  });

  beforeAll(async () => {
    stack = await startTestStack({ seed: false, env: { MAX_BODY_BYTES: String(2 * 1024 * 1024) } });
    admin = stack.server.writeToken;
    writer = stack.server.principals.add('writer', ['models:write']);
    reviewer = stack.server.principals.add('reviewer', ['models:approve']);
    for (const [i, model] of MODELS.entries())
      for (const [j, v] of VERSIONS.entries()) await publish(stack, admin, model, v, { seed: 10 * i + j });
    before = await snapshot(stack, ['']);
    stack.server.s3!.resetRequests();
  });

  afterAll(async () => {
    if (!stack) return;
    // Every key any request named is in the layout (and never holds a `.` or `..` segment).
    const requests = stack.server.s3!.requests();
    expect(requests.length).toBeGreaterThan(0);
    const outside = requests
      .filter((r) => r.key !== '')
      .map((r) => r.key)
      .filter((k) => !BUCKET_LAYOUT.test(k) || k.split('/').some((s) => s === '.' || s === '..'));
    expect(outside).toEqual([]);
    // Listings stay inside a model's governance folders (or a model's own prefix).
    for (const r of requests.filter((q) => q.key === '' && q.method === 'GET')) {
      const prefix = new URLSearchParams(r.query).get('prefix') ?? '';
      expect(prefix).toMatch(
        /^((etfs|stocks|universal|ensembles|experimental)\/([A-Za-z0-9._-]+\/((archive|aliases|approvals|tags)\/)?)?)?$/,
      );
    }
    // The bucket after everything: no key removed, and every new or changed key is one the mutations may write.
    const after = await snapshot(stack, ['']);
    expect(Object.keys(before).filter((k) => !(k in after))).toEqual([]);
    const changed = Object.keys(after).filter((k) => before[k] !== after[k]);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.filter((k) => !WRITABLE.test(k))).toEqual([]);
    for (const k of changed.filter((key) => key.includes('/aliases/')))
      expect(isValidAlias(k.slice(k.lastIndexOf('/') + 1, -'.json'.length))).toBe(true);
    await stack.close();
  });

  it('setAlias(model, alias, version, reason) and deleteAlias(model, alias, reason)', async () => {
    const SET = `mutation($m: ID!, $a: String!, $v: String!, $r: String) { setAlias(model: $m, alias: $a, version: $v, reason: $r) { alias action toVersion by reason generation } }`;
    const DELETE = `mutation($m: ID!, $a: String!, $r: String) { deleteAlias(model: $m, alias: $a, reason: $r) { alias action toVersion by } }`;
    await fc.assert(
      fc.asyncProperty(modelId, aliasName, version, reason, fc.boolean(), async (m, a, v, r, del) => {
        const res = del ? await send(DELETE, { m, a, r }, writer) : await send(SET, { m, a, v, r }, writer);
        const answered = typedOrAnswered(res, { m, a, v, r, del });
        const valid = wellFormed(m, del ? undefined : v) && isValidAlias(a) && isValidReason(r);
        if (!answered) {
          // Bad input is BAD_USER_INPUT (a missing model or version its own code); well-formed input is refused only
          // when deleting an alias that does not point anywhere.
          if (valid) {
            expect(del).toBe(true);
            expectBadInput(res);
          } else if (wellFormed(m, del ? undefined : v)) {
            expectBadInput(res);
          }
          return;
        }
        expect(valid).toBe(true);
        const move = res.data![del ? 'deleteAlias' : 'setAlias'];
        expect(move).toMatchObject({
          alias: a,
          action: del ? 'DELETE' : 'SET',
          toVersion: del ? null : v,
          by: 'writer',
        });
        // The document says the same.
        const doc = await send(
          `query($m: ID!, $a: String!) { model(id: $m) { alias(name: $a) { version { version } history { reason } } } }`,
          { m, a },
        );
        expect(doc.errors).toBeUndefined();
        expect(doc.data!.model.alias.version).toEqual(del ? null : { version: v });
        expect(doc.data!.model.alias.history[0].reason).toBe(r);
      }),
      params,
    );
    expectSomeAnswered();
  }, 120_000);

  it('Model.alias(name) with hostile names', async () => {
    const Q = `query($m: ID!, $a: String!) { model(id: $m) { alias(name: $a) { name generation } } }`;
    await fc.assert(
      fc.asyncProperty(modelId, aliasName, async (m, a) => {
        const res = await send(Q, { m, a });
        const answered = typedOrAnswered(res, { m, a });
        if (wellFormed(m)) expect(answered, JSON.stringify(res.errors)?.slice(0, 1000)).toBe(isValidAlias(a));
        if (!answered && wellFormed(m)) expectBadInput(res);
      }),
      params,
    );
    expectSomeAnswered();
  }, 120_000);

  it('setVersionTags(model, version, tags, description)', async () => {
    const SET = `mutation($m: ID!, $v: String!, $t: JSONObject!, $d: String) { setVersionTags(model: $m, version: $v, tags: $t, description: $d) { version tags description } }`;
    await fc.assert(
      fc.asyncProperty(modelId, version, tags, description, async (m, v, t, d) => {
        const vars: Record<string, unknown> = { m, v, t, ...(d === undefined ? {} : { d }) };
        const res = await send(SET, vars, writer);
        const answered = typedOrAnswered(res, vars);
        const expected = expectedTags(t);
        const valid = wellFormed(m, v) && expected !== null && isValidDescription(d);
        if (wellFormed(m, v) && !valid) expectBadInput(res);
        expect(answered, JSON.stringify(res.errors)?.slice(0, 1000)).toBe(valid);
        if (!answered) return;
        // What was stored is what was asked, values as strings; read back from a fresh request.
        const read = await send(
          `query($m: ID!, $v: String!) { model(id: $m) { version(version: $v) { tags description } } }`,
          { m, v },
        );
        expect(read.errors).toBeUndefined();
        expect(res.data!.setVersionTags.tags).toEqual(expected);
        expect(read.data!.model.version.tags).toEqual(expected);
        if (d != null) expect(read.data!.model.version.description).toBe(d);
      }),
      params,
    );
    expectSomeAnswered();
  }, 120_000);

  it('prototype names as tag keys: "__proto__" is BAD_USER_INPUT (it used to vanish, its value unchecked), "constructor" and the like are stored', async () => {
    const SET = `mutation($m: ID!, $v: String!, $t: JSONObject!) { setVersionTags(model: $m, version: $v, tags: $t) { tags } }`;
    const m = MODELS[1];
    const before = await snapshot(stack, [`${m}/tags/`]);
    for (const t of [{ ['__proto__']: 'x', team: 'vol' }, { ['__proto__']: { polluted: 'yes' } }]) {
      expect(Object.keys(t)).toContain('__proto__'); // an own property, sent as such
      const res = await send(SET, { m, v: 'v1', t }, writer);
      expectBadInput(res);
      expect(res.errors![0].message).toContain('__proto__');
    }
    expect(await snapshot(stack, [`${m}/tags/`])).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const ok = await send(SET, { m, v: 'v1', t: { constructor: 'c', toString: 's', hasOwnProperty: 'h' } }, writer);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.setVersionTags.tags).toEqual({ constructor: 'c', toString: 's', hasOwnProperty: 'h' });
  });

  it('approveVersion and rejectVersion(model, version, note)', async () => {
    const Q = (action: string) =>
      `mutation($m: ID!, $v: String!, $n: String) { ${action}(model: $m, version: $v, note: $n) { status by note } }`;
    await fc.assert(
      fc.asyncProperty(modelId, version, reason, fc.boolean(), async (m, v, n, approve) => {
        const action = approve ? 'approveVersion' : 'rejectVersion';
        const res = await send(Q(action), { m, v, n }, reviewer);
        const answered = typedOrAnswered(res, { m, v, n, action });
        const valid = wellFormed(m, v) && isValidReason(n);
        if (!answered) {
          // Well-formed: refused only when the version already has that status.
          if (wellFormed(m, v)) expectBadInput(res);
          return;
        }
        expect(valid).toBe(true);
        expect(res.data![action]).toEqual({ status: approve ? 'APPROVED' : 'REJECTED', by: 'reviewer', note: n });
      }),
      params,
    );
    expectSomeAnswered();
  }, 120_000);

  it('setPromotionPolicy(model, policy, reason)', async () => {
    const SET = `mutation($m: ID!, $p: PromotionPolicyInput!, $r: String) { setPromotionPolicy(model: $m, policy: $p, reason: $r) { by reason rules { requireApproval minShadowRows minShadowAgreement minRealizedPredictions minRealizedAccuracy maxFeatureChanges } } }`;
    await fc.assert(
      fc.asyncProperty(modelId, policy, reason, async (m, p, r) => {
        const res = await send(SET, { m, p, r }, reviewer);
        const answered = typedOrAnswered(res, { m, p, r });
        const expected = expectedRules(p);
        const valid = wellFormed(m) && expected !== null && isValidReason(r);
        if (wellFormed(m) && !valid) expectBadInput(res);
        expect(answered, JSON.stringify(res.errors)?.slice(0, 1000)).toBe(valid);
        if (!answered) return;
        expect(res.data!.setPromotionPolicy).toEqual({ by: 'reviewer', reason: r, rules: expected });
        const read = await send(
          `query($m: ID!) { model(id: $m) { policy { rules { requireApproval minShadowRows minShadowAgreement minRealizedPredictions minRealizedAccuracy maxFeatureChanges } } } }`,
          { m },
        );
        expect(read.data!.model.policy.rules).toEqual(expected);
      }),
      params,
    );
    expectSomeAnswered();
  }, 120_000);

  it('every new mutation without the scope it needs: UNAUTHENTICATED or FORBIDDEN, nothing written', async () => {
    const calls: Array<[string, Record<string, unknown>, string]> = [
      [
        `mutation($m: ID!, $v: String!) { approveVersion(model: $m, version: $v) { status } }`,
        { m: MODELS[0], v: 'v1' },
        'models:approve',
      ],
      [
        `mutation($m: ID!, $v: String!) { rejectVersion(model: $m, version: $v) { status } }`,
        { m: MODELS[0], v: 'v1' },
        'models:approve',
      ],
      [
        `mutation($m: ID!) { setPromotionPolicy(model: $m, policy: { requireApproval: true }) { generation } }`,
        { m: MODELS[0] },
        'models:approve',
      ],
    ];
    const writes: Array<[string, Record<string, unknown>, string]> = [
      [
        `mutation($m: ID!) { setAlias(model: $m, alias: "unauthorised", version: "v1") { generation } }`,
        { m: MODELS[0] },
        'models:write',
      ],
      [
        `mutation($m: ID!) { deleteAlias(model: $m, alias: "champion") { generation } }`,
        { m: MODELS[0] },
        'models:write',
      ],
      [
        `mutation($m: ID!) { setVersionTags(model: $m, version: "v1", tags: { a: "b" }) { version } }`,
        { m: MODELS[0] },
        'models:write',
      ],
    ];
    const snap = await snapshot(stack, [`${MODELS[0]}/`]);
    for (const [query, vars, scope] of [...calls, ...writes]) {
      const anonymous = await send(query, vars, null);
      expect(codesOf(anonymous)).toEqual(['UNAUTHENTICATED']);
      const wrong = await send(query, vars, scope === 'models:write' ? reviewer : writer);
      expect(codesOf(wrong)).toEqual(['FORBIDDEN']);
      expect(wrong.errors![0].extensions).toMatchObject({ requiredScope: scope });
      const bogus = await send(query, vars, 'mg_not-a-token');
      expect(['UNAUTHENTICATED', 'FORBIDDEN']).toContain(codesOf(bogus)[0]);
    }
    expect(await snapshot(stack, [`${MODELS[0]}/`])).toEqual(snap);
  });

  it('searchVersions(filter, orderBy, first, after)', async () => {
    const Q = `query($f: VersionFilter, $o: VersionOrder, $n: Int, $a: String) { searchVersions(filter: $f, orderBy: $o, first: $n, after: $a) { totalCount edges { cursor node { version model { id } } } pageInfo { hasNextPage endCursor } } }`;
    const filter = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record(
          {
            model: modelId,
            tags: fc.oneof({ weight: 4, arbitrary: plainTags }, { weight: 1, arbitrary: tags }),
            approval: fc.constantFrom<unknown>('PENDING', 'APPROVED', 'REJECTED', 'PENDING', 'pending', 'X', 1, null),
            minAccuracy: fc.oneof(
              { weight: 4, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
              { weight: 1, arbitrary: rateRule },
            ),
            minRealizedAccuracy: fc.oneof(
              { weight: 4, arbitrary: fc.constant(null) },
              { weight: 1, arbitrary: rateRule },
            ),
            createdAfter: fc.constantFrom<unknown>(
              '2026-01-01T00:00:00Z',
              '2020-06-30T12:00:00.000Z',
              null,
              null,
              '2026-01-01T00:00:00Z',
              '2026-01-01',
              'not a date',
              '',
              '2026-13-45T00:00:00Z',
              '+275760-09-13T00:00:00.000Z',
              '9999-12-31T23:59:59Z',
              0,
              1e20,
              null,
            ),
          },
          { requiredKeys: [] },
        ),
      },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(null, [], 'x', 1) },
    );
    const orderBy = fc.oneof(
      fc.constant(null),
      fc.record(
        {
          field: fc.constantFrom<unknown>('CREATED_AT', 'ACCURACY', 'REALIZED_ACCURACY', 'NAME', 1, null),
          direction: fc.constantFrom<unknown>('ASC', 'DESC', 'asc', null),
        },
        { requiredKeys: [] },
      ),
    );
    const first = fc.oneof(
      fc.integer({ min: -5, max: 300 }),
      fc.constantFrom<unknown>(null, 2 ** 31, 1.5, '5', raw('inf')),
    );
    const after = fc.oneof(fc.constant(null), hostileString, fc.base64String({ maxLength: 40 }));
    await fc.assert(
      fc.asyncProperty(filter, orderBy, first, after, async (f, o, n, a) => {
        const res = await send(Q, { f, o, n, a });
        if (!typedOrAnswered(res, { f, o, n, a })) return;
        const page = res.data!.searchVersions;
        const size = typeof n === 'number' ? n : 20;
        expect(page.edges.length).toBeLessThanOrEqual(size);
        expect(page.totalCount).toBeGreaterThanOrEqual(page.edges.length);
        const model = (f as { model?: unknown } | null)?.model;
        if (typeof model === 'string') for (const e of page.edges) expect(e.node.model.id).toBe(model);
      }),
      params,
    );
    expectSomeAnswered();
  }, 120_000);

  it('compareVersions(model, a, b)', async () => {
    const Q = `query($m: ID!, $a: String!, $b: String!) { compareVersions(model: $m, a: $a, b: $b) { a { version } b { version } featuresAdded featuresRemoved featuresReordered labelsAdded labelsRemoved } }`;
    await fc.assert(
      fc.asyncProperty(modelId, version, version, async (m, a, b) => {
        const res = await send(Q, { m, a, b });
        const answered = typedOrAnswered(res, { m, a, b });
        expect(answered, JSON.stringify(res.errors)?.slice(0, 1000)).toBe(wellFormed(m, a) && wellFormed(m, b));
        if (!answered) return;
        // Every version here has the same features and labels.
        expect(res.data!.compareVersions).toEqual({
          a: { version: a },
          b: { version: b },
          featuresAdded: [],
          featuresRemoved: [],
          featuresReordered: [],
          labelsAdded: [],
          labelsRemoved: [],
        });
      }),
      params,
    );
    expectSomeAnswered();
  }, 120_000);
});
