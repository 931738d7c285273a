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
