import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { featureValidator } from '../../src/inference/features';

const NAMES = ['iv_rank', 'rsi_14', 'hv_20', 'vix_level', 'put_call_ratio'];

/** The contract, stated with zod alone: exactly these names, each a finite number. */
const reference = z.strictObject(Object.fromEntries(NAMES.map((n) => [n, z.number().finite()])));

const value = fc.oneof(
  { weight: 6, arbitrary: fc.double({ noNaN: false }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>('1', null, true, [], {}, undefined, -0) },
);

/** Objects near the contract: all, some or extra names, any order, plain or null-prototype. */
const features = fc
  .record({
    present: fc.subarray(NAMES, { minLength: NAMES.length - 1 }),
    extra: fc.array(fc.constantFrom('moon_phase', '__proto__', 'toString', 'IV_RANK'), { maxLength: 1 }),
    values: fc.array(value, { minLength: NAMES.length + 1, maxLength: NAMES.length + 1 }),
    order: fc.array(fc.nat(), { minLength: NAMES.length + 1, maxLength: NAMES.length + 1 }),
    nullProto: fc.boolean(),
  })
  .map(({ present, extra, values, order, nullProto }) => {
    const keys = [...present, ...extra].map((k, i) => ({ k, o: order[i] })).sort((a, b) => a.o - b.o);
    const obj: Record<string, unknown> = nullProto ? Object.create(null) : {};
    keys.forEach(({ k }, i) =>
      Object.defineProperty(obj, k, { value: values[i], enumerable: true, configurable: true, writable: true }),
    );
    return obj;
  });

describe('feature validation', () => {
  const validate = featureValidator(NAMES);

  it('accepts exactly what the zod contract accepts, with values in feature-name order', () => {
    fc.assert(
      fc.property(features, (f) => {
        const expected = reference.safeParse(f);
        let row: Float32Array | undefined;
        let error: unknown;
        try {
          row = validate(f);
        } catch (err) {
          error = err;
        }
        if (expected.success) {
          expect(error).toBeUndefined();
          expect(Array.from(row!)).toEqual(NAMES.map((n) => Math.fround(expected.data[n] as number)));
        } else {
          expect(error).toMatchObject({ code: 'BAD_USER_INPUT' });
        }
      }),
      { numRuns: 3000, seed: 42 },
    );
  });

  it('names the offending features, never their values', () => {
    try {
      validate(
        { iv_rank: 0.5, rsi_14: Number.POSITIVE_INFINITY, hv_20: 0.123456, vix_level: 'x', moon_phase: 1 },
        'requests[7]',
      );
      expect.unreachable();
    } catch (err: any) {
      expect(err.code).toBe('BAD_USER_INPUT');
      expect(err.message).toContain('requests[7]');
      expect(err.details).toMatchObject({
        missingFeatures: ['put_call_ratio'],
        unknownFeatures: ['moon_phase'],
        nonFiniteFeatures: ['rsi_14', 'vix_level'],
      });
      expect(err.message).not.toContain('0.123456');
    }
  });
});

describe('featureValidator writing into a given row', () => {
  const validate = featureValidator(NAMES);
  const row = (i: number) => Object.fromEntries(NAMES.map((n, k) => [n, i * 10 + k]));

  it('writes the values into the row it is given and answers that row (fast path and schema path)', () => {
    const matrix = new Float32Array(3 * NAMES.length);
    const slot = (k: number) => matrix.subarray(k * NAMES.length, (k + 1) * NAMES.length);
    const target0 = slot(0);
    expect(validate(row(1), undefined, target0)).toBe(target0);
    // Keys in another order, and a null-prototype object: the same values land in the slot.
    const reversed = Object.fromEntries(NAMES.map((n, k) => [n, 20 + k]).reverse());
    const target1 = slot(1);
    expect(validate(reversed, undefined, target1)).toBe(target1);
    const bare = Object.assign(Object.create(null), row(3)) as Record<string, number>;
    const target2 = slot(2);
    expect(validate(bare, undefined, target2)).toBe(target2);
    expect(Array.from(matrix)).toEqual([
      ...NAMES.map((_, k) => 10 + k),
      ...NAMES.map((_, k) => 20 + k),
      ...NAMES.map((_, k) => 30 + k),
    ]);
    // Without a row: a new array with the same values.
    expect(Array.from(validate(row(1)))).toEqual(Array.from(slot(0)));
  });

  it('refuses what it refused before, whether or not it is given a row', () => {
    const bad = { ...row(0), rsi_14: Number.NaN };
    expect(() => validate(bad, 'requests[4]', new Float32Array(NAMES.length))).toThrow(
      /requests\[4\]: invalid features \(not a finite number: rsi_14\)/,
    );
    expect(() => validate(bad, 'requests[4]')).toThrow(
      /requests\[4\]: invalid features \(not a finite number: rsi_14\)/,
    );
  });
});
