import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTreeEnsembleRegressor } from '../../src/demo/treeEnsemble';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { DEMO_RISK_MODEL, DEMO_VOLATILITY_MODEL } from '../../src/local/demoSeed';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import { cliFor, FEATURES, LABELS, smallModel, writeVersionFolder } from '../writePath/support';

const PREDICT = `query($ticker: String!, $features: JSONObject!, $model: ID) {
  predict(ticker: $ticker, features: $features, model: $model) {
    ticker task strategy confidence probabilities { label } outputs { name value } version model { id type }
  }
}`;
const PREDICT_MANY = `query($requests: [PredictionRequest!]!) {
  predictMany(requests: $requests) { ticker task strategy outputs { name value } model { id } }
}`;

/** The regressor's values for rows, computed by onnxruntime directly on the stored model.onnx. */
async function reference(
  stack: TestStack,
  model: string,
  rows: Array<Record<string, number>>,
  targets: number,
): Promise<number[][]> {
  const bytes = (await stack.server.runtime.store.get(`${model}/archive/v1.0.0/model.onnx`)).body;
  const session = await ort.InferenceSession.create(bytes);
  const input = Float32Array.from(rows.flatMap((r) => DEMO_FEATURE_NAMES.map((n) => r[n])));
  const out = await session.run({ X: new ort.Tensor('float32', input, [rows.length, DEMO_FEATURE_NAMES.length]) });
  await session.release();
  const values = out.variable.data as Float32Array;
  return rows.map((_, r) => Array.from(values.subarray(r * targets, (r + 1) * targets)));
}

describe('universal models and regressors', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ env: { POINTER_TTL_SECONDS: '0' } });
  });
  afterAll(() => stack?.close());

  it('the demo regressors are listed as universal models with task REGRESSION and named targets', async () => {
    const r = await stack.gql(`{ models(type: UNIVERSAL) { id production { task labels targets featureNames } } }`);
    const byId = new Map(r.data!.models.map((m: { id: string; production: unknown }) => [m.id, m.production]));
    expect(byId.get(DEMO_VOLATILITY_MODEL)).toEqual({
      task: 'REGRESSION',
      labels: [],
      targets: ['vol_5d', 'vol_30d'],
      featureNames: DEMO_FEATURE_NAMES,
    });
    expect(byId.get(DEMO_RISK_MODEL)).toEqual({
      task: 'REGRESSION',
      labels: [],
      targets: ['risk_score'],
      featureNames: DEMO_FEATURE_NAMES,
    });
    expect(byId.get('universal/all_assets_classifier')).toMatchObject({ task: 'CLASSIFICATION', targets: [] });
  });

  it('any asset asks a universal regressor through `model`: numeric outputs, no strategy, equal to onnxruntime on the stored file', async () => {
    const rows = [0, 1, 2].map((i) => featuresFor(DEMO_FEATURE_NAMES, i));
    const expected = await reference(stack, DEMO_VOLATILITY_MODEL, rows, 2);
    for (const [i, ticker] of ['SPY', 'AAPL', 'XLF'].entries()) {
      const r = await stack.gql(PREDICT, { ticker, features: rows[i], model: DEMO_VOLATILITY_MODEL });
      expect(r.errors).toBeUndefined();
      expect(r.data!.predict).toMatchObject({
        ticker,
        task: 'REGRESSION',
        strategy: null,
        confidence: null,
        probabilities: [],
        version: 'v1.0.0',
        model: { id: DEMO_VOLATILITY_MODEL, type: 'UNIVERSAL' },
      });
      expect(r.data!.predict.outputs).toEqual([
        { name: 'vol_5d', value: expect.closeTo(expected[i][0], 6) },
        { name: 'vol_30d', value: expect.closeTo(expected[i][1], 6) },
      ]);
    }
  });

  it('one request mixes classifier and regressor rows, one run per model', async () => {
    const { runtime } = stack.server;
    await stack.gql(PREDICT_MANY, {
      requests: [
        { ticker: 'SMH', features: featuresFor(DEMO_FEATURE_NAMES, 0) },
        { ticker: 'SMH', features: featuresFor(DEMO_FEATURE_NAMES, 0), model: DEMO_RISK_MODEL },
      ],
    });
    const runs = runtime.models.counters.sessionRuns;
    const requests = [0, 1, 2, 3].flatMap((i) => [
      { ticker: 'SMH', features: featuresFor(DEMO_FEATURE_NAMES, i) },
      { ticker: 'SMH', features: featuresFor(DEMO_FEATURE_NAMES, i), model: DEMO_RISK_MODEL },
    ]);
    const r = await stack.gql(PREDICT_MANY, { requests });
    expect(r.errors).toBeUndefined();
    expect(runtime.models.counters.sessionRuns - runs).toBe(2);
    const answers = r.data!.predictMany;
    const expected = await reference(
      stack,
      DEMO_RISK_MODEL,
      [0, 1, 2, 3].map((i) => featuresFor(DEMO_FEATURE_NAMES, i)),
      1,
    );
    answers.forEach(
      (
        a: {
          task: string;
          strategy: string | null;
          outputs: Array<{ name: string; value: number }>;
          model: { id: string };
        },
        k: number,
      ) => {
        if (k % 2 === 0) {
          expect(a).toMatchObject({ task: 'CLASSIFICATION', model: { id: 'etfs/SMH' }, outputs: [] });
          expect(OPTION_STRATEGIES).toContain(a.strategy);
        } else {
          expect(a).toMatchObject({ task: 'REGRESSION', strategy: null, model: { id: DEMO_RISK_MODEL } });
          expect(a.outputs).toEqual([{ name: 'risk_score', value: expect.closeTo(expected[(k - 1) / 2][0], 6) }]);
        }
      },
    );
  });

  it('an asset registered to use a regressor gets outputs from predictMatrix, row by row', async () => {
    const reg = await stack.gqlAsWriter(
      `mutation { registerAsset(ticker: "VIXY", kind: ETF, usesModel: "${DEMO_VOLATILITY_MODEL}") { modelType model { id } } }`,
    );
    expect(reg.data!.registerAsset).toEqual({ modelType: 'UNIVERSAL', model: { id: DEMO_VOLATILITY_MODEL } });
    const rows = [4, 5].map((i) => featuresFor(DEMO_FEATURE_NAMES, i));
    const r = await stack.gql(
      `query($n: [String!]!, $rows: JSON!) { predictMatrix(ticker: "VIXY", featureNames: $n, rows: $rows) { task labels targets strategies confidences probabilities outputs } }`,
      {
        n: DEMO_FEATURE_NAMES,
        rows: rows.map((row) => DEMO_FEATURE_NAMES.map((n) => row[n])),
      },
    );
    expect(r.errors).toBeUndefined();
    const expected = await reference(stack, DEMO_VOLATILITY_MODEL, rows, 2);
    expect(r.data!.predictMatrix).toMatchObject({
      task: 'REGRESSION',
      labels: [],
      targets: ['vol_5d', 'vol_30d'],
      strategies: [],
      confidences: [],
      probabilities: [],
    });
    expect(r.data!.predictMatrix.outputs).toEqual(expected.map((row) => row.map((v) => expect.closeTo(v, 6))));
  });

  it('refuses a model override that is not universal or an ensemble, and never serves experimental models', async () => {
    const f = featuresFor(DEMO_FEATURE_NAMES, 1);
    const cases: Array<[string, string, string, RegExp]> = [
      ['SPY', 'etfs/QQQ', 'BAD_USER_INPUT', /its own model/],
      ['SPY', 'stocks/universal', 'BAD_USER_INPUT', /its own model/],
      ['SPY', 'experimental/momentum_v2', 'BAD_USER_INPUT', /experimental/],
      ['SPY', 'universal/../x', 'BAD_USER_INPUT', /model id/],
      ['SPY', 'universal/missing', 'MODEL_NOT_DEPLOYED', /universal\/missing/],
    ];
    for (const [ticker, model, code, message] of cases) {
      const r = await stack.gql(PREDICT, { ticker, features: f, model });
      expect(r.errors?.[0].extensions?.code, model).toBe(code);
      expect(r.errors?.[0].message).toMatch(message);
    }
    // Its own model, named explicitly, is fine.
    expect((await stack.gql(PREDICT, { ticker: 'SPY', features: f, model: 'etfs/SPY' })).data!.predict.model.id).toBe(
      'etfs/SPY',
    );
    // Experimental models are not served even from staging, where they live.
    const staged = await stack.gql(
      `query($f: JSONObject!) { predict(ticker: "SPY", features: $f, model: "experimental/momentum_v2", stage: STAGING) { strategy } }`,
      { f },
    );
    expect(staged.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('modelgraph push validates a regressor folder: targets named in metadata, output width checked in onnxruntime', async () => {
    const regressor = (targets: number) =>
      buildTreeEnsembleRegressor({
        featureNames: FEATURES,
        targets: Array.from({ length: targets }, (_, i) => `t${i}`),
        baseValues: Array(targets).fill(0.1),
        trees: 3,
        depth: 2,
        seed: 8,
      });
    const push = (dir: string, version: string) =>
      // Through the local server's API (its data folder names it), as an engineer beside `npm start`.
      cliFor(stack)('push', dir, '--model', 'universal/iv_forecaster', '--version', version, '--json');

    const ok = await push(
      await writeVersionFolder({
        modelBytes: regressor(2),
        metadata: { task: 'regression', targets: ['iv_5d', 'iv_30d'] },
      }),
      'v1',
    );
    expect(ok.stderr).toBe('');
    expect(ok.json).toMatchObject({
      validation: { features: FEATURES.length, labels: 2, labelsCheckedAgainst: 'regressor' },
    });
    const v = await stack.gql(
      `{ model(id: "universal/iv_forecaster") { version(version: "v1") { task targets labels } } }`,
    );
    expect(v.data!.model.version).toEqual({ task: 'REGRESSION', targets: ['iv_5d', 'iv_30d'], labels: [] });

    const refused: Array<[Uint8Array, Record<string, unknown>, RegExp]> = [
      [regressor(2), { task: 'regression', targets: ['only_one'] }, /float32\[N, 1\]/],
      [regressor(1), { task: 'regression' }, /needs "targets"/],
      [regressor(1), { targets: ['x'] }, /"task": "regression"/],
      [regressor(1), { task: 'regression', targets: ['x'], strategies: LABELS }, /targets, not labels/],
      [smallModel(), { task: 'regression', targets: ['x'] }, /one output tensor/],
    ];
    for (const [i, [bytes, metadata, message]] of refused.entries()) {
      const run = await push(await writeVersionFolder({ modelBytes: bytes, metadata }), `bad${i}`);
      expect(run.code, JSON.stringify(metadata)).not.toBe(0);
      expect(run.error?.code).toBe('INVALID_MODEL');
      expect(run.error?.message).toMatch(message);
      expect(await stack.server.runtime.store.listKeys(`universal/iv_forecaster/archive/bad${i}/`)).toEqual([]);
    }
  });
});
