import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';

const MATRIX = `query($ticker: String!, $featureNames: [String!]!, $rows: JSON!, $stage: Stage) {
  predictMatrix(ticker: $ticker, featureNames: $featureNames, rows: $rows, stage: $stage) {
    ticker model { id } modelType version stage featureNames labels strategies confidences probabilities
  }
}`;
const MANY = `query($requests: [PredictionRequest!]!) {
  predictMany(requests: $requests) { strategy confidence version probabilities { label probability } }
}`;

describe('predictMatrix: columnar bulk scoring', () => {
  let stack: TestStack;
  const names = [...DEMO_FEATURE_NAMES];
  const objects = Array.from({ length: 300 }, (_, i) => featuresFor(names, i));
  const rows = objects.map((o) => names.map((n) => o[n]));

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.close());

  it('answers exactly what predictMany answers for the same rows, in one session run', async () => {
    // Prepare: load the model first so the run counter only sees the matrix call.
    await stack.gql(MANY, { requests: [{ ticker: 'NVDA', features: objects[0] }] });
    const runsBefore = stack.server.runtime.models.counters.sessionRuns;
    // Act
    const matrix = await stack.gql(MATRIX, { ticker: 'nvda', featureNames: names, rows });
    // Assess
    expect(matrix.errors).toBeUndefined();
    expect(stack.server.runtime.models.counters.sessionRuns - runsBefore).toBe(1);
    const m = matrix.data!.predictMatrix;
    expect(m).toMatchObject({
      ticker: 'NVDA',
      model: { id: 'stocks/universal' },
      modelType: 'STOCK_UNIVERSAL',
      version: 'v1.1.0',
      stage: 'PRODUCTION',
    });
    expect(m.featureNames).toEqual(names);
    expect(m.labels).toEqual(OPTION_STRATEGIES);
    const many = await stack.gql(MANY, { requests: objects.map((features) => ({ ticker: 'NVDA', features })) });
    const answers = many.data!.predictMany;
    expect(m.strategies).toEqual(answers.map((a: any) => a.strategy));
    expect(m.confidences).toEqual(answers.map((a: any) => a.confidence));
    expect(m.probabilities).toEqual(answers.map((a: any) => a.probabilities.map((p: any) => p.probability)));
    expect(new Set(m.strategies).size).toBeGreaterThan(2);
  });

  it("refuses featureNames that are not the model's, in its order, naming the difference", async () => {
    const swapped = [names[1], names[0], ...names.slice(2)];
    const reordered = await stack.gql(MATRIX, { ticker: 'SPY', featureNames: swapped, rows: [rows[0]] });
    expect(reordered.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(reordered.errors?.[0].message).toMatch(/order/);
    const renamed = await stack.gql(MATRIX, {
      ticker: 'SPY',
      featureNames: [...names.slice(1), 'moon_phase'],
      rows: [rows[0]],
    });
    expect(renamed.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      missingFeatures: [names[0]],
      unknownFeatures: ['moon_phase'],
    });
  });

  it.each([
    ['a row of the wrong width', [[1, 2, 3]], /rows\[0\] must be an array of 84 numbers/],
    ['a string cell', [rows[0].map((v, i) => (i === 5 ? 'x' : v))], /rows\[0\]\[5\] \(.+\) is not a finite number/],
    ['a null cell', [rows[1], rows[0].map((v, i) => (i === 0 ? null : v))], /rows\[1\]\[0\]/],
    ['not an array', { a: 1 }, /rows must be an array/],
    ['no rows', [], /rows is empty/],
  ])('answers BAD_USER_INPUT for %s', async (_what, bad, message) => {
    const res = await stack.gql(MATRIX, { ticker: 'SPY', featureNames: names, rows: bad });
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0].message).toMatch(message);
  });

  it('refuses more rows than MAX_PREDICT_BATCH and an unknown ticker', async () => {
    const many = await stack.gql(MATRIX, {
      ticker: 'SPY',
      featureNames: names,
      rows: Array.from({ length: 10_001 }, () => [0]),
    });
    expect(many.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(many.errors?.[0].message).toContain('at most 10000 rows');
    const unknown = await stack.gql(MATRIX, { ticker: 'NOPE', featureNames: names, rows: [rows[0]] });
    expect(unknown.errors?.[0].extensions?.code).toBe('UNKNOWN_ASSET');
  });
});
