/**
 * evaluateVersion end to end on the local server: a Parquet dataset made here
 * from known rows and labels, versions published through the API, real
 * onnxruntime sessions, the embedded S3 server. Every figure is compared with
 * values this file computes on its own: the labels a bare onnxruntime session
 * gives on the same model bytes, and plain loops over them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushDataset } from '../../src/evaluation/datasets';
import { codes, publish, snapshot } from '../governance/support';
import { startTestStack, type TestStack } from '../support/stack';
import { EVAL_LABELS, bareLabels, knownRows, modelBytes, parquetOf, type KnownRows } from './support';

const MODEL = 'universal/eval_probe';
const N = 2_500;
const PROMOTE = `mutation($m: ID!, $v: String!) { promote(model: $m, version: $v, reason: "baseline") { toVersion } }`;
const EVALUATE = `mutation($m: ID!, $v: String!, $d: String!, $c: EvaluationComparison) {
  evaluateVersion(model: $m, version: $v, dataset: $d, compareWith: $c) { id status progress chunks comparisonVersion }
}`;
const RESULT_FIELDS = `id status progress chunks chunksDone rows rowsScored executor attempt comparisonVersion startedBy error
  result {
    rows accuracy comparisonAccuracy documentKey
    classes { label precision recall f1 support }
    confusion { labels matrix }
    monthly { month rows accuracy comparisonAccuracy }
    pnl { total weightedAccuracy following comparisonWeightedAccuracy comparisonFollowing }
    agreement { rows agreements rate disagreementSample }
    candidate { version featureNames sha256 modelFile datasetSha256 stage }
    comparison { version featureNames sha256 modelFile datasetSha256 stage }
  }`;
const GET = `query($id: ID!) { evaluation(id: $id) { ${RESULT_FIELDS} } }`;

async function waitFor(stack: TestStack, id: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const res = await stack.gql(GET, { id });
    const e = res.data?.evaluation;
    if (e && e.status !== 'RUNNING') return e;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('evaluation did not finish');
}

describe('evaluateVersion', () => {
  let stack: TestStack;
  let admin: string;
  let rows: KnownRows;
  let candidate: string[];
  let production: string[];
  let datasetSha: string;

  beforeAll(async () => {
    // Prepare
    stack = await startTestStack({ seed: false });
    admin = stack.server.writeToken!;
    await publish(stack, admin, MODEL, 'v1', { seed: 11 });
    await publish(stack, admin, MODEL, 'v2', { seed: 12 });
    const promoted = await stack.gql(PROMOTE, { m: MODEL, v: 'v1' }, { token: admin });
    expect(promoted.errors).toBeUndefined();
    rows = knownRows(N, 7);
    // Row groups of 700 rows: 4 chunks (700, 700, 700, 400).
    const manifest = await pushDataset(stack.server.runtime.store, {
      name: 'probe-2024',
      bytes: parquetOf(rows, 700),
      by: 'test',
    });
    datasetSha = manifest.sha256;
    [candidate, production] = await Promise.all([bareLabels(modelBytes(12), rows), bareLabels(modelBytes(11), rows)]);
  }, 60_000);

  afterAll(async () => {
    await stack?.server.runtime.evaluations.idle();
    await stack?.close();
  });

  it('lists the pushed dataset with rows, columns, row groups and sha256', async () => {
    // Act
    const res = await stack.gql(
      `{ datasets { name sha256 format rows rowGroups labelColumn timestampColumn pnlColumn tickerColumn labels columns { name kind } } }`,
    );
    // Assess
    expect(res.errors).toBeUndefined();
    expect(res.data!.datasets).toEqual([
      {
        name: 'probe-2024',
        sha256: datasetSha,
        format: 'parquet',
        rows: N,
        rowGroups: 4,
        labelColumn: 'label',
        timestampColumn: 'timestamp',
        pnlColumn: 'pnl',
        tickerColumn: 'ticker',
        labels: [...new Set(rows.labels)].sort(),
        columns: [
          ...['iv_rank', 'rsi_14', 'skew', 'term_slope', 'vix'].map((name) => ({ name, kind: 'number' })),
          { name: 'label', kind: 'string' },
          { name: 'timestamp', kind: 'timestamp' },
          { name: 'pnl', kind: 'number' },
          { name: 'ticker', kind: 'string' },
        ],
      },
    ]);
  });

  it('needs models:write', async () => {
    // Act
    const res = await stack.gql(EVALUATE, { m: MODEL, v: 'v2', d: 'probe-2024' });
    // Assess
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });

  it('answers at once, then every figure equals what the rows and a bare onnxruntime session say', async () => {
    // Act
    const started = await stack.gql(EVALUATE, { m: MODEL, v: 'v2', d: 'probe-2024' }, { token: admin });
    expect(started.errors).toBeUndefined();
    expect(started.data!.evaluateVersion).toMatchObject({ status: 'RUNNING', chunks: 4, comparisonVersion: 'v1' });
    const e = await waitFor(stack, started.data!.evaluateVersion.id);

    // Assess: the run
    expect(e).toMatchObject({
      status: 'SUCCEEDED',
      progress: 1,
      chunks: 4,
      chunksDone: 4,
      rows: N,
      rowsScored: N,
      executor: 'IN_PROCESS',
      attempt: 1,
      comparisonVersion: 'v1',
      startedBy: 'admin',
      error: null,
    });
    const r = e.result;
    expect(r.documentKey).toBe(`${MODEL}/evaluations/v2/${datasetSha}.json`);

    // Accuracy, counted row by row.
    let right = 0;
    let productionRight = 0;
    for (let i = 0; i < N; i++) {
      if (candidate[i] === rows.labels[i]) right++;
      if (production[i] === rows.labels[i]) productionRight++;
    }
    expect(r.rows).toBe(N);
    expect(r.accuracy).toBeCloseTo(right / N, 12);
    expect(r.comparisonAccuracy).toBeCloseTo(productionRight / N, 12);
    expect(right).toBeGreaterThan(0);

    // Confusion matrix: model labels, then LONG_STRADDLE (only in the dataset).
    const order = [...EVAL_LABELS, 'LONG_STRADDLE'];
    const matrix = order.map(() => order.map(() => 0));
    for (let i = 0; i < N; i++) matrix[order.indexOf(rows.labels[i])][order.indexOf(candidate[i])]++;
    expect(r.confusion).toEqual({ labels: order, matrix });

    // Per class.
    for (const [k, label] of order.entries()) {
      const tp = rows.labels.filter((l, i) => l === label && candidate[i] === label).length;
      const support = rows.labels.filter((l) => l === label).length;
      const predicted = candidate.filter((p) => p === label).length;
      const c = r.classes[k];
      expect(c.label).toBe(label);
      expect(c.support).toBe(support);
      if (predicted === 0) expect(c.precision).toBeNull();
      else expect(c.precision).toBeCloseTo(tp / predicted, 12);
      expect(c.recall).toBeCloseTo(tp / support, 12);
      if (c.precision !== null && c.precision + c.recall > 0)
        expect(c.f1).toBeCloseTo((2 * (tp / predicted) * (tp / support)) / (tp / predicted + tp / support), 12);
    }
    expect(r.classes.at(-1)).toMatchObject({ label: 'LONG_STRADDLE', precision: null, recall: 0 });

    // Per month (UTC).
    const months = new Map<string, { rows: number; right: number; productionRight: number }>();
    rows.timestamps.forEach((t, i) => {
      const month = t.toISOString().slice(0, 7);
      const m = months.get(month) ?? { rows: 0, right: 0, productionRight: 0 };
      m.rows++;
      if (candidate[i] === rows.labels[i]) m.right++;
      if (production[i] === rows.labels[i]) m.productionRight++;
      months.set(month, m);
    });
    expect(r.monthly.map((m: { month: string }) => m.month)).toEqual(['2024-01', '2024-02', '2024-03', '2024-04']);
    for (const m of r.monthly) {
      const want = months.get(m.month)!;
      expect(m.rows).toBe(want.rows);
      expect(m.accuracy).toBeCloseTo(want.right / want.rows, 12);
      expect(m.comparisonAccuracy).toBeCloseTo(want.productionRight / want.rows, 12);
    }

    // P&L: following a version earns pnl when it names the label, loses |pnl| otherwise.
    let total = 0;
    let abs = 0;
    let absRight = 0;
    let absProductionRight = 0;
    let following = 0;
    let productionFollowing = 0;
    for (let i = 0; i < N; i++) {
      const p = rows.pnl[i];
      total += p;
      abs += Math.abs(p);
      if (candidate[i] === rows.labels[i]) {
        absRight += Math.abs(p);
        following += p;
      } else following -= Math.abs(p);
      if (production[i] === rows.labels[i]) {
        absProductionRight += Math.abs(p);
        productionFollowing += p;
      } else productionFollowing -= Math.abs(p);
    }
    expect(r.pnl.total).toBeCloseTo(total, 6);
    expect(r.pnl.weightedAccuracy).toBeCloseTo(absRight / abs, 10);
    expect(r.pnl.following).toBeCloseTo(following, 6);
    expect(r.pnl.comparisonWeightedAccuracy).toBeCloseTo(absProductionRight / abs, 10);
    expect(r.pnl.comparisonFollowing).toBeCloseTo(productionFollowing, 6);

    // Agreement with production, and the sampled disagreements are disagreements.
    const disagreements = candidate.map((c, i) => (c === production[i] ? -1 : i)).filter((i) => i >= 0);
    expect(r.agreement.rows).toBe(N);
    expect(r.agreement.agreements).toBe(N - disagreements.length);
    expect(r.agreement.rate).toBeCloseTo((N - disagreements.length) / N, 12);
    expect(r.agreement.disagreementSample).toHaveLength(Math.min(100, disagreements.length));
    expect([...r.agreement.disagreementSample].sort((a: number, b: number) => a - b)).toEqual(
      r.agreement.disagreementSample,
    );
    for (const i of r.agreement.disagreementSample) expect(candidate[i]).not.toBe(production[i]);
    // Spread over the dataset, not just its first chunk.
    expect(Math.max(...r.agreement.disagreementSample)).toBeGreaterThan(700);

    // Reproducibility: versions, feature names, artifact and dataset sha256.
    const meta = await stack.server.runtime.registry.versionMetadata(MODEL, 'v2');
    expect(r.candidate).toEqual({
      version: 'v2',
      featureNames: ['iv_rank', 'rsi_14', 'skew', 'term_slope', 'vix'],
      sha256: meta.artifacts['model.onnx'].sha256,
      modelFile: 'model.onnx',
      datasetSha256: datasetSha,
      stage: null,
    });
    expect(r.comparison).toMatchObject({ version: 'v1', stage: 'PRODUCTION', datasetSha256: datasetSha });
  });

  it('the same request again answers from the write-once document and writes nothing', async () => {
    // Prepare
    const before = await snapshot(stack, [`${MODEL}/evaluations/`]);
    stack.server.s3!.resetRequests();
    // Act
    const again = await stack.gql(EVALUATE, { m: MODEL, v: 'v2', d: 'probe-2024' }, { token: admin });
    // Assess
    expect(again.errors).toBeUndefined();
    expect(again.data!.evaluateVersion).toMatchObject({ status: 'SUCCEEDED', progress: 1 });
    expect(stack.server.s3!.count({ method: 'PUT' })).toBe(0);
    expect(await snapshot(stack, [`${MODEL}/evaluations/`])).toEqual(before);
    // One result document, one run document and four chunk results.
    expect(Object.keys(before).sort()).toEqual([
      `${MODEL}/evaluations/v2/${datasetSha}.json`,
      ...[0, 1, 2, 3].map((i) => `${MODEL}/evaluations/v2/${datasetSha}/chunks/00000${i}.json`),
      `${MODEL}/evaluations/v2/${datasetSha}/run.json`,
    ]);
  });

  it('Version.evaluations lists it', async () => {
    // Act
    const res = await stack.gql(
      `{ model(id: "${MODEL}") { version(version: "v2") { evaluations { dataset datasetSha256 status result { rows } } } } }`,
    );
    // Assess
    expect(res.errors).toBeUndefined();
    expect(res.data!.model.version.evaluations).toEqual([
      { dataset: 'probe-2024', datasetSha256: datasetSha, status: 'SUCCEEDED', result: { rows: N } },
    ]);
  });

  it('a dataset lacking a feature is BAD_USER_INPUT naming it, before anything is scored or written', async () => {
    // Prepare
    await pushDataset(stack.server.runtime.store, {
      name: 'no-vix',
      bytes: parquetOf(knownRows(50, 3), 1000, ['vix']),
      by: 'test',
    });
    const before = await snapshot(stack, [`${MODEL}/evaluations/`]);
    // Act
    const res = await stack.gql(EVALUATE, { m: MODEL, v: 'v2', d: 'no-vix' }, { token: admin });
    // Assess
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].extensions).toMatchObject({ missingFeatures: ['vix'], dataset: 'no-vix' });
    expect(await snapshot(stack, [`${MODEL}/evaluations/`])).toEqual(before);
  });

  it('an unknown dataset or evaluation id is answered plainly', async () => {
    // Act
    const unknown = await stack.gql(EVALUATE, { m: MODEL, v: 'v2', d: 'nope' }, { token: admin });
    const badId = await stack.gql(GET, { id: 'ev_bm90LWFuLWlk' });
    // Assess
    expect(codes(unknown)).toEqual(['BAD_USER_INPUT']);
    expect(codes(badId)).toEqual(['BAD_USER_INPUT']);
  });
});
