import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';

const MATRIX = `query($ticker: String!, $featureNames: [String!]!, $rows: JSON!, $stage: Stage) {
  predictMatrix(ticker: $ticker, featureNames: $featureNames, rows: $rows, stage: $stage) {
    ticker model { id } modelType version stage featureNames labels strategies confidences probabilities
  }
}`;
const MATRIX_F32 = `query($ticker: String!, $featureNames: [String!]!, $rows: JSON, $rowsF32: Base64) {
  predictMatrix(ticker: $ticker, featureNames: $featureNames, rows: $rows, rowsF32: $rowsF32) {
    version labels strategies confidences probabilities strategyIndexes probabilitiesF32 outputsF32
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

  describe('binary rows (rowsF32) and compact outputs', () => {
    /** Rows as little-endian float32 bytes, base64. */
    const f32 = (values: number[][]) => {
      const buf = Buffer.alloc(values.length * names.length * 4);
      values.flat().forEach((v, i) => buf.writeFloatLE(v, 4 * i));
      return buf.toString('base64');
    };
    const decodeF32 = (base64: string) => {
      const buf = Buffer.from(base64, 'base64');
      return Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(4 * i));
    };

    it.each([
      ['an ETF model (SPY)', 'SPY'],
      ['the universal stock model (NVDA)', 'NVDA'],
      ['an ensemble, one run per member (DIA)', 'DIA'],
    ])('answer exactly what JSON rows answer, for %s', async (_what, ticker) => {
      // Act
      const json = await stack.gql(MATRIX_F32, { ticker, featureNames: names, rows });
      const binary = await stack.gql(MATRIX_F32, { ticker, featureNames: names, rowsF32: f32(rows) });
      // Assess
      expect(json.errors).toBeUndefined();
      expect(binary.errors).toBeUndefined();
      const j = json.data!.predictMatrix;
      const b = binary.data!.predictMatrix;
      expect(b).toEqual(j);
      expect(j.strategies).toHaveLength(rows.length);
      expect(new Set(j.strategies).size).toBeGreaterThan(1);
      // The compact outputs decode to the JSON outputs.
      expect(j.strategyIndexes.map((i: number) => j.labels[i])).toEqual(j.strategies);
      const probabilities = decodeF32(j.probabilitiesF32);
      expect(probabilities).toHaveLength(rows.length * j.labels.length);
      expect(probabilities).toEqual(j.probabilities.flat().map((p: number) => Math.fround(p)));
      expect(j.outputsF32).toBeNull();
    });

    it('read rows from a buffer at any byte offset (one row decodes from a pooled buffer)', async () => {
      for (const row of rows.slice(0, 8)) {
        const binary = await stack.gql(MATRIX_F32, { ticker: 'SPY', featureNames: names, rowsF32: f32([row]) });
        const json = await stack.gql(MATRIX_F32, { ticker: 'SPY', featureNames: names, rows: [row] });
        expect(binary.data!.predictMatrix.probabilities).toEqual(json.data!.predictMatrix.probabilities);
      }
    });

    it.each([
      [
        'a length that is not a multiple of 4',
        () => f32([rows[0]]).slice(0, -4) + 'AAA=',
        /not whole rows of 84 float32/,
      ],
      [
        'whole floats but not whole rows',
        () => f32([rows[0], rows[1]]).slice(0, -8) + 'AAAA',
        /not whole rows of 84 float32/,
      ],
      ['no bytes', () => '', /rowsF32 is empty/],
      [
        'more rows than MAX_PREDICT_BATCH',
        () => Buffer.alloc(10_001 * names.length * 4).toString('base64'),
        /at most 10000 rows per request \(got 10001\)/,
      ],
      ['a character outside base64', () => `!${f32([rows[0]]).slice(1)}`, /not valid base64/],
    ])('answer BAD_USER_INPUT for %s', async (_what, bytes, message) => {
      const res = await stack.gql(MATRIX_F32, { ticker: 'SPY', featureNames: names, rowsF32: bytes() });
      expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0].message).toMatch(message);
      expect(res.data?.predictMatrix ?? null).toBeNull();
    });

    it.each([
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['-Infinity', Number.NEGATIVE_INFINITY],
    ])('refuse %s like JSON rows refuse a non-number, naming the feature', async (_what, value) => {
      // Prepare: row 2, column 7 holds the bad value.
      const bad = rows.slice(0, 3).map((row, r) => row.map((v, c) => (r === 2 && c === 7 ? value : v)));
      // Act
      const binary = await stack.gql(MATRIX_F32, { ticker: 'SPY', featureNames: names, rowsF32: f32(bad) });
      const json = await stack.gql(MATRIX_F32, {
        ticker: 'SPY',
        featureNames: names,
        rows: bad.map((row) => row.map((v) => (Number.isFinite(v) ? v : String(v)))),
      });
      // Assess
      for (const res of [binary, json]) {
        expect(res.errors?.[0].extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          row: 2,
          invalidFeatures: [names[7]],
        });
        expect(res.errors?.[0].message).toMatch(/is not a finite number/);
      }
    });

    it('keep the featureNames guard and take exactly one of rows and rowsF32', async () => {
      const swapped = [names[1], names[0], ...names.slice(2)];
      const reordered = await stack.gql(MATRIX_F32, { ticker: 'SPY', featureNames: swapped, rowsF32: f32([rows[0]]) });
      expect(reordered.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(reordered.errors?.[0].message).toMatch(/order/);
      const both = await stack.gql(MATRIX_F32, {
        ticker: 'SPY',
        featureNames: names,
        rows: [rows[0]],
        rowsF32: f32([rows[0]]),
      });
      const neither = await stack.gql(MATRIX_F32, { ticker: 'SPY', featureNames: names });
      for (const res of [both, neither]) {
        expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
        expect(res.errors?.[0].message).toBe('give exactly one of rows and rowsF32');
      }
    });
  });

  it('with ORT_BULK_INTRA_OP_THREADS, batches from ORT_BULK_MIN_ROWS rows run on a second session and answer the same', async () => {
    // Prepare: a stack whose batches of 100 rows or more use a 2-thread session.
    const bulk = await startTestStack({ env: { ORT_BULK_INTRA_OP_THREADS: '2', ORT_BULK_MIN_ROWS: '100' } });
    try {
      const small = await bulk.gql(MATRIX, { ticker: 'NVDA', featureNames: names, rows: rows.slice(0, 99) });
      expect(bulk.server.runtime.models.counters.bulkSessions).toBe(0);
      // Act
      const large = await bulk.gql(MATRIX, { ticker: 'NVDA', featureNames: names, rows });
      const again = await bulk.gql(MATRIX, { ticker: 'NVDA', featureNames: names, rows });
      // Assess: one bulk session, loaded once. The answers are the single-session stack's, up to float32
      // rounding: two threads sum the trees' scores in another order (differences of about 1e-7 were seen).
      expect(bulk.server.runtime.models.counters.bulkSessions).toBe(1);
      const reference = (await stack.gql(MATRIX, { ticker: 'NVDA', featureNames: names, rows })).data!.predictMatrix;
      const close = (p: number[][]) => p.map((row) => row.map((v) => expect.closeTo(v, 5)));
      for (const answer of [large, again]) {
        expect(answer.data!.predictMatrix.strategies).toEqual(reference.strategies);
        expect(answer.data!.predictMatrix.probabilities).toEqual(close(reference.probabilities));
      }
      expect(small.data!.predictMatrix.probabilities).toEqual(reference.probabilities.slice(0, 99));
    } finally {
      await bulk.close();
    }
  });
});
