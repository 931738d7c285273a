/**
 * The promotion policy's evaluation rules: minEvaluationAccuracy and
 * maxAccuracyDropVsProduction on a named dataset. The pure checks table-driven,
 * then promotions against the local server gated by real evaluations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushDataset } from '../../src/evaluation/datasets';
import { PromotionPolicySchema, type PromotionPolicy } from '../../src/registry/governanceRecords';
import { checkPolicy, type PromotionEvidence } from '../../src/registry/promotionPolicy';
import { codes, publish } from '../governance/support';
import { startTestStack, type TestStack } from '../support/stack';
import { bareLabels, knownRows, modelBytes, parquetOf } from './support';

const base: PromotionEvidence = {
  approval: 'APPROVED',
  shadowRows: 0,
  shadowAgreements: 0,
  realizedPredictions: 0,
  realizedCorrect: 0,
  featureChanges: 0,
};
const ev = (e: Partial<NonNullable<PromotionEvidence['evaluation']>>): PromotionEvidence => ({
  ...base,
  evaluation: {
    dataset: 'spy-2024',
    datasetExists: true,
    candidateAccuracy: 0.7,
    productionVersion: 'v1',
    productionAccuracy: 0.71,
    ...e,
  },
});

describe('checkPolicy: evaluation rules', () => {
  const cases: Array<{ name: string; policy: PromotionPolicy; evidence: PromotionEvidence; expected: unknown[] }> = [
    {
      name: 'accuracy at the minimum passes',
      policy: { evaluationDataset: 'spy-2024', minEvaluationAccuracy: 0.7 },
      evidence: ev({}),
      expected: [],
    },
    {
      name: 'accuracy below the minimum',
      policy: { evaluationDataset: 'spy-2024', minEvaluationAccuracy: 0.75 },
      evidence: ev({}),
      expected: [{ rule: 'minEvaluationAccuracy', required: '>= 75.00% on spy-2024', actual: '70.00%' }],
    },
    {
      name: 'no evaluation of the candidate',
      policy: { evaluationDataset: 'spy-2024', minEvaluationAccuracy: 0.5 },
      evidence: ev({ candidateAccuracy: null }),
      expected: [
        {
          rule: 'minEvaluationAccuracy',
          required: '>= 50.00% on spy-2024',
          actual: 'no evaluation of the candidate on spy-2024',
        },
      ],
    },
    {
      name: 'no such dataset',
      policy: { evaluationDataset: 'spy-2024', minEvaluationAccuracy: 0.5 },
      evidence: ev({ datasetExists: false, candidateAccuracy: null }),
      expected: [{ rule: 'minEvaluationAccuracy', required: '>= 50.00% on spy-2024', actual: 'no dataset spy-2024' }],
    },
    {
      name: 'a drop of exactly the allowed points passes (no float noise)',
      policy: { evaluationDataset: 'spy-2024', maxAccuracyDropVsProduction: 0.02 },
      evidence: ev({ candidateAccuracy: 0.69, productionAccuracy: 0.71 }),
      expected: [],
    },
    {
      name: 'a drop beyond the allowed points',
      policy: { evaluationDataset: 'spy-2024', maxAccuracyDropVsProduction: 0.005 },
      evidence: ev({}),
      expected: [
        {
          rule: 'maxAccuracyDropVsProduction',
          required: '<= 0.50 points below v1 on spy-2024',
          actual: '1.00 points (70.00% vs 71.00%)',
        },
      ],
    },
    {
      name: 'better than production passes any drop limit',
      policy: { evaluationDataset: 'spy-2024', maxAccuracyDropVsProduction: 0 },
      evidence: ev({ candidateAccuracy: 0.8 }),
      expected: [],
    },
    {
      name: 'production never evaluated on the dataset',
      policy: { evaluationDataset: 'spy-2024', maxAccuracyDropVsProduction: 0.1 },
      evidence: ev({ productionAccuracy: null }),
      expected: [
        {
          rule: 'maxAccuracyDropVsProduction',
          required: '<= 10.00 points below v1 on spy-2024',
          actual: 'no evaluation of v1 on spy-2024',
        },
      ],
    },
    {
      name: 'nothing in production: no drop to measure',
      policy: { evaluationDataset: 'spy-2024', maxAccuracyDropVsProduction: 0 },
      evidence: ev({ productionVersion: null, productionAccuracy: null }),
      expected: [],
    },
  ];
  it.each(cases)('$name', ({ policy, evidence, expected }) => {
    // Act / Assess
    expect(checkPolicy(policy, evidence)).toEqual(expected);
  });

  it('the rules need a dataset', () => {
    // Act
    const without = PromotionPolicySchema.safeParse({ minEvaluationAccuracy: 0.6 });
    const withIt = PromotionPolicySchema.safeParse({ minEvaluationAccuracy: 0.6, evaluationDataset: 'spy-2024' });
    // Assess
    expect(without.success).toBe(false);
    expect(withIt.success).toBe(true);
  });
});

describe('promotion gated by evaluations', () => {
  const MODEL = 'universal/eval_gate';
  const SET_POLICY = `mutation($m: ID!, $p: PromotionPolicyInput!) { setPromotionPolicy(model: $m, policy: $p, reason: "gate") { rules { evaluationDataset minEvaluationAccuracy maxAccuracyDropVsProduction } } }`;
  const PROMOTE = `mutation($m: ID!, $v: String!) { promote(model: $m, version: $v, reason: "r") { toVersion } }`;
  const EVALUATE = `mutation($m: ID!, $v: String!, $c: EvaluationComparison) { evaluateVersion(model: $m, version: $v, dataset: "gate-rows", compareWith: $c) { id } }`;
  let stack: TestStack;
  let admin: string;
  let accuracy: { v1: number; v2: number };

  beforeAll(async () => {
    // Prepare
    stack = await startTestStack({ seed: false });
    admin = stack.server.writeToken!;
    await publish(stack, admin, MODEL, 'v1', { seed: 41 });
    await publish(stack, admin, MODEL, 'v2', { seed: 42 });
    expect((await stack.gql(PROMOTE, { m: MODEL, v: 'v1' }, { token: admin })).errors).toBeUndefined();
    const rows = knownRows(600, 11);
    await pushDataset(stack.server.runtime.store, { name: 'gate-rows', bytes: parquetOf(rows, 300), by: 'test' });
    const [a1, a2] = await Promise.all([bareLabels(modelBytes(41), rows), bareLabels(modelBytes(42), rows)]);
    const acc = (p: string[]) => p.filter((x, i) => x === rows.labels[i]).length / rows.n;
    accuracy = { v1: acc(a1), v2: acc(a2) };
  }, 60_000);

  afterAll(async () => {
    await stack?.server.runtime.evaluations.idle();
    await stack?.close();
  });

  it('refuses a promotion without an evaluation, then judges it by the evaluation', async () => {
    // Prepare
    const policy = await stack.gql(
      SET_POLICY,
      { m: MODEL, p: { evaluationDataset: 'gate-rows', minEvaluationAccuracy: 0, maxAccuracyDropVsProduction: 1 } },
      { token: admin },
    );
    expect(policy.errors).toBeUndefined();
    expect(policy.data!.setPromotionPolicy.rules).toEqual({
      evaluationDataset: 'gate-rows',
      minEvaluationAccuracy: 0,
      maxAccuracyDropVsProduction: 1,
    });
    // Act: not evaluated yet
    const refused = await stack.gql(PROMOTE, { m: MODEL, v: 'v2' }, { token: admin });
    // Assess
    expect(codes(refused)).toEqual(['POLICY_VIOLATION']);
    expect(refused.errors![0].extensions!.violations).toEqual([
      {
        rule: 'minEvaluationAccuracy',
        required: '>= 0.00% on gate-rows',
        actual: 'no evaluation of the candidate on gate-rows',
      },
      {
        rule: 'maxAccuracyDropVsProduction',
        required: '<= 100.00 points below v1 on gate-rows',
        actual: 'no evaluation of the candidate on gate-rows',
      },
    ]);

    // Act: evaluate v2 against production, then tighten the minimum just above its accuracy
    const started = await stack.gql(EVALUATE, { m: MODEL, v: 'v2' }, { token: admin });
    expect(started.errors).toBeUndefined();
    await stack.server.runtime.evaluations.idle();
    const strict = Math.min(1, accuracy.v2 + 0.001);
    await stack.gql(
      SET_POLICY,
      { m: MODEL, p: { evaluationDataset: 'gate-rows', minEvaluationAccuracy: strict } },
      { token: admin },
    );
    const tooLow = await stack.gql(PROMOTE, { m: MODEL, v: 'v2' }, { token: admin });
    // Assess
    expect(tooLow.errors![0].extensions!.violations).toEqual([
      {
        rule: 'minEvaluationAccuracy',
        required: `>= ${(strict * 100).toFixed(2)}% on gate-rows`,
        actual: `${(accuracy.v2 * 100).toFixed(2)}%`,
      },
    ]);

    // Act: a drop limit just below the measured drop (production's accuracy comes from v2's comparison)
    const drop = accuracy.v1 - accuracy.v2;
    await stack.gql(
      SET_POLICY,
      { m: MODEL, p: { evaluationDataset: 'gate-rows', maxAccuracyDropVsProduction: Math.max(0, drop - 0.001) } },
      { token: admin },
    );
    const dropped = await stack.gql(PROMOTE, { m: MODEL, v: 'v2' }, { token: admin });
    await stack.gql(
      SET_POLICY,
      {
        m: MODEL,
        p: {
          evaluationDataset: 'gate-rows',
          minEvaluationAccuracy: accuracy.v2,
          maxAccuracyDropVsProduction: Math.max(0, drop) + 0.001,
        },
      },
      { token: admin },
    );
    const promoted = await stack.gql(PROMOTE, { m: MODEL, v: 'v2' }, { token: admin });
    // Assess
    if (drop > 0.001) expect(dropped.errors![0].extensions!.violations[0].rule).toBe('maxAccuracyDropVsProduction');
    else expect(dropped.errors).toBeUndefined();
    expect(promoted.errors).toBeUndefined();
    expect(promoted.data!.promote.toVersion).toBe('v2');
  });
});
