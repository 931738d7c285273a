import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTreeEnsembleClassifier, buildTreeEnsembleRegressor } from '../../src/demo/treeEnsemble';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { DEMO_ENSEMBLE, DEMO_ENSEMBLE_MEMBERS } from '../../src/local/demoSeed';
import { publishVersion } from '../../src/registry/versionPublisher';
import { warmModels } from '../../src/inference/warmModels';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import { cli } from '../writePath/support';

const PREDICT = `query($ticker: String!, $features: JSONObject!, $model: ID) {
  predict(ticker: $ticker, features: $features, model: $model) {
    ticker strategy confidence version model { id type } modelType
    probabilities { label probability }
    ensemble { voting members { model { id } version weight strategy confidence } }
  }
}`;
const PREDICT_MANY = `query($requests: [PredictionRequest!]!) {
  predictMany(requests: $requests) { ticker strategy confidence version model { id } ensemble { members { model { id } version } } }
}`;
const REGISTER = `mutation($model: ID!, $version: String!, $members: [EnsembleMemberInput!]!, $voting: VotingMethod!, $description: String) {
  registerEnsemble(model: $model, version: $version, members: $members, voting: $voting, description: $description) {
    version labels featureNames modelFile ensemble { voting members { model { id } version weight } }
  }
}`;
const PROMOTE = `mutation($model: ID!, $version: String!) { promote(model: $model, version: $version) { toVersion } }`;

type Probabilities = Array<{ label: string; probability: number }>;

/** A member's own probabilities for a row, by label (asked directly, as that model). */
async function memberProbabilities(
  stack: TestStack,
  ticker: string,
  features: Record<string, number>,
  model?: string,
): Promise<Map<string, number>> {
  const r = await stack.gql(PREDICT, { ticker, features, model });
  expect(r.errors).toBeUndefined();
  return new Map((r.data!.predict.probabilities as Probabilities).map((p) => [p.label, p.probability]));
}

describe('ensembles', () => {
  let stack: TestStack;
  const REVERSED = [...OPTION_STRATEGIES].reverse();
  /** A member reading 12 of the demo features in another order, with the labels in reverse order. */
  const SUBSET = [...DEMO_FEATURE_NAMES.slice(0, 12)].reverse();

  beforeAll(async () => {
    stack = await startTestStack();
    const { store, deployments } = stack.server.runtime;
    const classifier = (featureNames: readonly string[], labels: readonly string[], seed: number) => ({
      'model.onnx': Buffer.from(buildTreeEnsembleClassifier({ featureNames, labels, trees: 6, depth: 4, seed })),
      'feature_names.json': Buffer.from(JSON.stringify(featureNames)),
    });
    await publishVersion(store, 'universal/reordered', 'v1', classifier(SUBSET, REVERSED, 71), {
      strategies: REVERSED,
    });
    await deployments.promote({ model: 'universal/reordered', version: 'v1', stage: 'PRODUCTION', by: 'test' });
    await publishVersion(
      store,
      'universal/other_labels',
      'v1',
      classifier(DEMO_FEATURE_NAMES, ['UP', 'DOWN', 'FLAT'], 72),
      { strategies: ['UP', 'DOWN', 'FLAT'] },
    );
    await deployments.promote({ model: 'universal/other_labels', version: 'v1', stage: 'PRODUCTION', by: 'test' });
    const regressor = buildTreeEnsembleRegressor({
      featureNames: DEMO_FEATURE_NAMES,
      targets: ['x'],
      baseValues: [0],
      trees: 2,
      depth: 2,
      seed: 3,
    });
    await publishVersion(
      store,
      'universal/a_regressor',
      'v1',
      { 'model.onnx': Buffer.from(regressor), 'feature_names.json': Buffer.from(JSON.stringify(DEMO_FEATURE_NAMES)) },
      { task: 'regression', targets: ['x'] },
    );
    await deployments.promote({ model: 'universal/a_regressor', version: 'v1', stage: 'PRODUCTION', by: 'test' });
  });
  afterAll(() => stack?.close());

  it('the demo asset DIA is served by the demo ensemble, whose soft vote is the weighted mean of its members', async () => {
    const features = featuresFor(DEMO_FEATURE_NAMES, 5);
    const r = await stack.gql(PREDICT, { ticker: 'DIA', features });
    expect(r.errors).toBeUndefined();
    const p = r.data!.predict;
    expect(p.model).toEqual({ id: DEMO_ENSEMBLE, type: 'ENSEMBLE' });
    expect(p.modelType).toBe('ENSEMBLE');
    expect(p.ensemble.voting).toBe('SOFT');
    expect(
      p.ensemble.members.map((m: { model: { id: string }; version: string; weight: number }) => [
        m.model.id,
        m.version,
        m.weight,
      ]),
    ).toEqual(DEMO_ENSEMBLE_MEMBERS.map((m) => [m.model, m.version, m.weight]));

    // Each member asked on its own: SPY's model, the stock model (via a stock), the all-assets model.
    const own = [
      await memberProbabilities(stack, 'SPY', features),
      await memberProbabilities(stack, 'AAPL', features),
      await memberProbabilities(stack, 'SPY', features, 'universal/all_assets_classifier'),
    ];
    const weights = DEMO_ENSEMBLE_MEMBERS.map((m) => m.weight);
    const total = weights.reduce((a, b) => a + b, 0);
    const expected = OPTION_STRATEGIES.map((label) =>
      own.reduce((s, probs, i) => s + (weights[i] * probs.get(label)!) / total, 0),
    );
    const got = (p.probabilities as Probabilities).map((x) => x.probability);
    got.forEach((value, c) => expect(value).toBeCloseTo(expected[c], 6));
    const best = expected.indexOf(Math.max(...expected));
    expect(p.strategy).toBe(OPTION_STRATEGIES[best]);
    expect(p.confidence).toBeCloseTo(expected[best], 6);
    // The members' own answers are reported too.
    p.ensemble.members.forEach((m: { strategy: string; confidence: number }, i: number) => {
      const top = [...own[i]].sort((a, b) => b[1] - a[1])[0];
      expect(m.strategy).toBe(top[0]);
      expect(m.confidence).toBeCloseTo(top[1], 6);
    });
  });

  it('one request runs each member model once, sharing the run with direct predictions of the same version', async () => {
    const { runtime } = stack.server;
    // Warm every model first, so the count is of runs only.
    await stack.gql(PREDICT_MANY, { requests: [{ ticker: 'DIA', features: featuresFor(DEMO_FEATURE_NAMES, 0) }] });
    const runs = runtime.models.counters.sessionRuns;
    const rows = runtime.models.counters.rowsPredicted;
    const requests = [
      ...[1, 2, 3].map((i) => ({ ticker: 'DIA', features: featuresFor(DEMO_FEATURE_NAMES, i) })),
      ...[4, 5].map((i) => ({ ticker: 'SPY', features: featuresFor(DEMO_FEATURE_NAMES, i) })),
      ...[6, 7].map((i) => ({ ticker: 'MSFT', features: featuresFor(DEMO_FEATURE_NAMES, i) })),
    ];
    const r = await stack.gql(PREDICT_MANY, { requests });
    expect(r.errors).toBeUndefined();
    expect(r.data!.predictMany.map((p: { model: { id: string } }) => p.model.id)).toEqual([
      DEMO_ENSEMBLE,
      DEMO_ENSEMBLE,
      DEMO_ENSEMBLE,
      'etfs/SPY',
      'etfs/SPY',
      'stocks/universal',
      'stocks/universal',
    ]);
    // etfs/SPY@v1.1.0 (3 ensemble rows + 2 direct), stocks/universal@v1.1.0 (3 + 2), all_assets (3): three runs.
    expect(runtime.models.counters.sessionRuns - runs).toBe(3);
    expect(runtime.models.counters.rowsPredicted - rows).toBe(3 * 3 + 2 + 2);
  });

  it('projects features and maps labels for members that read other columns in another order', async () => {
    const reg = await stack.gqlAsWriter(REGISTER, {
      model: 'ensembles/mixed',
      version: 'v1',
      members: [
        { model: 'etfs/QQQ', weight: 2 },
        { model: 'universal/reordered', weight: 1 },
      ],
      voting: 'SOFT',
    });
    expect(reg.errors).toBeUndefined();
    expect(reg.data!.registerEnsemble).toMatchObject({
      version: 'v1',
      labels: OPTION_STRATEGIES,
      featureNames: DEMO_FEATURE_NAMES,
      modelFile: 'ensemble_weights.json',
      ensemble: {
        voting: 'SOFT',
        members: [
          { model: { id: 'etfs/QQQ' }, version: 'v1.0.0', weight: 2 },
          { model: { id: 'universal/reordered' }, version: 'v1', weight: 1 },
        ],
      },
    });
    expect((await stack.gqlAsWriter(PROMOTE, { model: 'ensembles/mixed', version: 'v1' })).errors).toBeUndefined();

    const features = featuresFor(DEMO_FEATURE_NAMES, 9);
    const qqq = await memberProbabilities(stack, 'QQQ', features);
    // The reordered member, run on its own with onnxruntime on exactly its columns.
    const ort = await import('onnxruntime-node');
    const bytes = buildTreeEnsembleClassifier({ featureNames: SUBSET, labels: REVERSED, trees: 6, depth: 4, seed: 71 });
    const session = await ort.InferenceSession.create(Buffer.from(bytes));
    const out = await session.run({
      X: new ort.Tensor(
        'float32',
        Float32Array.from(SUBSET, (n) => features[n]),
        [1, SUBSET.length],
      ),
    });
    const reordered = new Map(REVERSED.map((label, c) => [label, (out.probabilities.data as Float32Array)[c]]));
    await session.release();

    const r = await stack.gql(PREDICT, { ticker: 'SPY', features, model: 'ensembles/mixed' });
    expect(r.errors).toBeUndefined();
    const expected = OPTION_STRATEGIES.map((l) => (2 * qqq.get(l)! + 1 * reordered.get(l)!) / 3);
    (r.data!.predict.probabilities as Probabilities).forEach((p, c) => {
      expect(p.label).toBe(OPTION_STRATEGIES[c]);
      expect(p.probability).toBeCloseTo(expected[c], 6);
    });
  });

  it('hard voting: the label with the most member weight wins, probabilities are vote shares', async () => {
    const members = [
      { model: 'etfs/SPY', weight: 1 },
      { model: 'etfs/QQQ', weight: 1 },
      { model: 'etfs/IWM', weight: 1.5 },
      { model: 'universal/all_assets_classifier', weight: 0.5 },
    ];
    expect(
      (await stack.gqlAsWriter(REGISTER, { model: 'ensembles/hard', version: 'v1', members, voting: 'HARD' })).errors,
    ).toBeUndefined();
    expect((await stack.gqlAsWriter(PROMOTE, { model: 'ensembles/hard', version: 'v1' })).errors).toBeUndefined();
    for (const i of [11, 12, 13, 14, 15]) {
      const features = featuresFor(DEMO_FEATURE_NAMES, i);
      const votes = new Map<string, number>();
      for (const [ticker, model, weight] of [
        ['SPY', undefined, 1],
        ['QQQ', undefined, 1],
        ['IWM', undefined, 1.5],
        ['SPY', 'universal/all_assets_classifier', 0.5],
      ] as const) {
        const own = await memberProbabilities(stack, ticker, features, model);
        const top = [...own].sort((a, b) => b[1] - a[1])[0][0];
        votes.set(top, (votes.get(top) ?? 0) + weight);
      }
      const shares = OPTION_STRATEGIES.map((l) => (votes.get(l) ?? 0) / 4);
      const most = Math.max(...shares);
      const winner = OPTION_STRATEGIES[shares.indexOf(most)]; // ties: the earlier label
      const r = await stack.gql(PREDICT, { ticker: 'XLF', features, model: 'ensembles/hard' });
      expect(r.errors).toBeUndefined();
      expect(r.data!.predict.strategy).toBe(winner);
      expect(r.data!.predict.confidence).toBeCloseTo(most, 9);
      expect((r.data!.predict.probabilities as Probabilities).map((p) => p.probability)).toEqual(
        shares.map((s) => expect.closeTo(s, 9)),
      );
    }
  });

  it('refuses members with another label set when the ensemble is registered, and writes nothing', async () => {
    const r = await stack.gqlAsWriter(REGISTER, {
      model: 'ensembles/bad',
      version: 'v1',
      members: [
        { model: 'etfs/SPY', weight: 1 },
        { model: 'universal/other_labels', weight: 1 },
      ],
      voting: 'SOFT',
    });
    expect(r.errors?.[0].extensions?.code).toBe('INVALID_MODEL');
    expect(r.errors?.[0].message).toMatch(/share one label set/);
    expect(r.errors?.[0].message).toMatch(/universal\/other_labels@v1 lacks IRON_CONDOR.*adds UP, DOWN, FLAT/);
    expect(await stack.server.runtime.store.listKeys('ensembles/bad/')).toEqual([]);
  });

  it('refuses regressors, nested ensembles, experimental and unknown members, bad weights and a second registration of a version', async () => {
    const attempt = (members: unknown[], model = 'ensembles/refused', version = 'v1') =>
      stack.gqlAsWriter(REGISTER, { model, version, members, voting: 'SOFT' });
    const cases: Array<[unknown[], string, RegExp]> = [
      [[{ model: 'universal/a_regressor', weight: 1 }], 'INVALID_MODEL', /regressor/],
      [[{ model: DEMO_ENSEMBLE, weight: 1 }], 'INVALID_MODEL', /do not nest/],
      [[{ model: 'experimental/momentum_v2', weight: 1 }], 'INVALID_MODEL', /experimental/],
      [[{ model: 'universal/nope', weight: 1 }], 'MODEL_NOT_FOUND', /universal\/nope/],
      [[{ model: 'etfs/SPY', version: 'v9', weight: 1 }], 'VERSION_NOT_FOUND', /v9/],
      [[{ model: 'etfs/SPY', weight: 0 }], 'BAD_USER_INPUT', /positive/],
      [
        [
          { model: 'etfs/SPY', weight: 1 },
          { model: 'etfs/SPY', weight: 2 },
        ],
        'BAD_USER_INPUT',
        /once/,
      ],
      [[], 'BAD_USER_INPUT', /at least one member/],
      [[{ model: 'etfs/../x', weight: 1 }], 'BAD_USER_INPUT', /model id/],
    ];
    for (const [members, code, message] of cases) {
      const r = await attempt(members);
      expect(r.errors?.[0].extensions?.code, JSON.stringify(members)).toBe(code);
      expect(r.errors?.[0].message).toMatch(message);
    }
    expect((await attempt([{ model: 'etfs/SPY', weight: 1 }], 'etfs/SPY')).errors?.[0].extensions?.code).toBe(
      'BAD_USER_INPUT',
    );
    expect(await stack.server.runtime.store.listKeys('ensembles/refused/')).toEqual([]);
    // Versions are immutable.
    const again = await stack.gqlAsWriter(REGISTER, {
      model: DEMO_ENSEMBLE,
      version: 'v1.0.0',
      members: [{ model: 'etfs/SPY', weight: 1 }],
      voting: 'HARD',
    });
    expect(again.errors?.[0].extensions?.code).toBe('CONFLICT');
    // And registering needs write permission.
    const anonymous = await stack.gql(REGISTER, {
      model: 'ensembles/anon',
      version: 'v1',
      members: [{ model: 'etfs/SPY', weight: 1 }],
      voting: 'SOFT',
    });
    expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(await stack.server.runtime.store.listKeys('ensembles/anon/')).toEqual([]);
  });

  it('is versioned and promoted like a model: a new version pins new members, rollback returns to the old ones', async () => {
    const v2 = await stack.gqlAsWriter(REGISTER, {
      model: DEMO_ENSEMBLE,
      version: 'v2.0.0',
      members: [
        { model: 'etfs/SPY', version: 'v1.0.0', weight: 1 },
        { model: 'etfs/QQQ', weight: 1 },
      ],
      voting: 'HARD',
    });
    expect(v2.errors).toBeUndefined();
    const features = featuresFor(DEMO_FEATURE_NAMES, 21);
    const before = (await stack.gql(PREDICT, { ticker: 'DIA', features })).data!.predict;
    expect((await stack.gqlAsWriter(PROMOTE, { model: DEMO_ENSEMBLE, version: 'v2.0.0' })).errors).toBeUndefined();
    const after = (await stack.gql(PREDICT, { ticker: 'DIA', features })).data!.predict;
    expect(after.version).toBe('v2.0.0');
    expect(after.ensemble.voting).toBe('HARD');
    expect(
      after.ensemble.members.map((m: { model: { id: string }; version: string }) => `${m.model.id}@${m.version}`),
    ).toEqual(['etfs/SPY@v1.0.0', 'etfs/QQQ@v1.0.0']);
    const back = await stack.gqlAsWriter(`mutation { rollback(model: "${DEMO_ENSEMBLE}") { toVersion } }`);
    expect(back.data?.rollback.toVersion).toBe('v1.0.0');
    const rolledBack = (await stack.gql(PREDICT, { ticker: 'DIA', features })).data!.predict;
    expect(rolledBack).toEqual(before);
  });

  it('registerVersion turns an ensemble folder another tool uploaded (original file shapes) into a pinned version, bytes untouched', async () => {
    const { store } = stack.server.runtime;
    const prefix = 'ensembles/uploaded/archive/v1/';
    const weights = Buffer.from('{"etfs/SPY": 0.6, "universal/all_assets_classifier@v1.0.0": 0.4}\n');
    await store.put(`${prefix}ensemble_weights.json`, weights);
    await store.put(
      `${prefix}voting_strategy.json`,
      '{"voting_method": "SOFT", "notes": "from the training pipeline"}',
    );
    await store.put(`${prefix}metadata.json`, '{"description": "blend from the pipeline", "accuracy": 0.64}');
    const REGISTER_VERSION = `mutation($m: ID!, $v: String!) { registerVersion(model: $m, version: $v) { version labels featureNames accuracy modelFile ensemble { voting members { model { id } version weight } } } }`;
    const r = await stack.gqlAsWriter(REGISTER_VERSION, { m: 'ensembles/uploaded', v: 'v1' });
    expect(r.errors).toBeUndefined();
    expect(r.data!.registerVersion).toEqual({
      version: 'v1',
      labels: OPTION_STRATEGIES,
      featureNames: DEMO_FEATURE_NAMES,
      accuracy: 0.64,
      modelFile: 'ensemble_weights.json',
      ensemble: {
        voting: 'SOFT',
        members: [
          { model: { id: 'etfs/SPY' }, version: 'v1.1.0', weight: 0.6 },
          { model: { id: 'universal/all_assets_classifier' }, version: 'v1.0.0', weight: 0.4 },
        ],
      },
    });
    expect((await store.get(`${prefix}ensemble_weights.json`)).body).toEqual(weights);
    expect(JSON.parse((await store.get(`${prefix}feature_names.json`)).body.toString())).toEqual(DEMO_FEATURE_NAMES);
    expect((await stack.gqlAsWriter(PROMOTE, { model: 'ensembles/uploaded', version: 'v1' })).errors).toBeUndefined();
    const p = await stack.gql(PREDICT, {
      ticker: 'QQQ',
      features: featuresFor(DEMO_FEATURE_NAMES, 2),
      model: 'ensembles/uploaded',
    });
    expect(p.data!.predict.ensemble.members).toHaveLength(2);
    // Registered once.
    expect(
      (await stack.gqlAsWriter(REGISTER_VERSION, { m: 'ensembles/uploaded', v: 'v1' })).errors?.[0].extensions?.code,
    ).toBe('CONFLICT');

    // A folder naming a member with another label set is refused; nothing is added to it.
    const bad = 'ensembles/uploaded/archive/v2/';
    await store.put(`${bad}ensemble_weights.json`, '{"etfs/SPY": 1, "universal/other_labels": 1}');
    await store.put(`${bad}voting_strategy.json`, '"hard"');
    const refused = await stack.gqlAsWriter(REGISTER_VERSION, { m: 'ensembles/uploaded', v: 'v2' });
    expect(refused.errors?.[0].extensions?.code).toBe('INVALID_MODEL');
    expect((await store.listKeys(bad)).sort()).toEqual([`${bad}ensemble_weights.json`, `${bad}voting_strategy.json`]);
    const empty = await stack.gqlAsWriter(REGISTER_VERSION, { m: 'ensembles/uploaded', v: 'v3' });
    expect(empty.errors?.[0].extensions?.code).toBe('VERSION_NOT_FOUND');
  });

  it('modelgraph ls shows an ensemble: its versions (with the weights file as artifact) and history', async () => {
    const run = await cli(['ls', DEMO_ENSEMBLE, '--endpoint', stack.server.s3!.endpoint, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const text = JSON.stringify(run.json);
    expect(text).toContain('v1.0.0');
    const stored = (await stack.server.runtime.store.head(`${DEMO_ENSEMBLE}/archive/v1.0.0/ensemble_weights.json`))!;
    expect(text).toContain(String(stored.size));
  });

  it('an ensemble without a staging version is MODEL_NOT_DEPLOYED for STAGING; predictMatrix answers what predictMany answers, one run per member', async () => {
    const staging = await stack.gql(
      `query($f: JSONObject!) { predict(ticker: "DIA", features: $f, stage: STAGING) { strategy } }`,
      { f: featuresFor(DEMO_FEATURE_NAMES, 1) },
    );
    expect(staging.errors?.[0].extensions?.code).toBe('MODEL_NOT_DEPLOYED');
    const rows = [31, 32, 33, 34].map((i) => featuresFor(DEMO_FEATURE_NAMES, i));
    const many = (await stack.gql(PREDICT_MANY, { requests: rows.map((features) => ({ ticker: 'DIA', features })) }))
      .data!.predictMany;
    const { runtime } = stack.server;
    const runs = runtime.models.counters.sessionRuns;
    const matrix = await stack.gql(
      `query($n: [String!]!, $rows: JSON!) { predictMatrix(ticker: "DIA", featureNames: $n, rows: $rows) { model { id } version labels strategies confidences } }`,
      {
        n: DEMO_FEATURE_NAMES,
        rows: rows.map((r) => DEMO_FEATURE_NAMES.map((n) => r[n])),
      },
    );
    expect(matrix.errors).toBeUndefined();
    expect(runtime.models.counters.sessionRuns - runs).toBe(3);
    const m = matrix.data!.predictMatrix;
    expect(m.model.id).toBe(DEMO_ENSEMBLE);
    expect(m.labels).toEqual(OPTION_STRATEGIES);
    expect(m.strategies).toEqual(many.map((p: { strategy: string }) => p.strategy));
    m.confidences.forEach((c: number, i: number) => expect(c).toBeCloseTo(many[i].confidence, 6));
  });

  it('WARM_MODELS may name an ensemble: its pinned members are loaded', async () => {
    const { runtime } = stack.server;
    runtime.models.clear();
    const [warm] = await warmModels(runtime.predictor, [DEMO_ENSEMBLE]);
    expect(warm).toMatchObject({ model: DEMO_ENSEMBLE, ok: true, version: 'v1.0.0' });
    expect(runtime.models.loadedKeys.sort()).toEqual(
      DEMO_ENSEMBLE_MEMBERS.map((m) => `${m.model}@${m.version}`).sort(),
    );
  });
});
