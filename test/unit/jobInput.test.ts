import { describe, expect, it } from 'vitest';
import { jobInput } from '../../src/inference/predictor';

describe('jobInput (the matrix a job hands to session.run)', () => {
  const width = 3;
  const matrix = Float32Array.from({ length: 4 * width }, (_, i) => i);
  const slot = (k: number) => matrix.subarray(k * width, (k + 1) * width);

  it('is a view on the rows when they are consecutive slots of one buffer', () => {
    const input = jobInput([slot(1), slot(2), slot(3)], width);
    expect(input.buffer).toBe(matrix.buffer);
    expect(Array.from(input)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(jobInput([slot(0)], width).buffer).toBe(matrix.buffer);
  });

  it('is a copy in row order otherwise (a gap, another order, another buffer)', () => {
    const other = Float32Array.from([100, 101, 102]);
    for (const rows of [
      [slot(0), slot(2)],
      [slot(1), slot(0)],
      [slot(0), other],
      [other, slot(1)],
    ]) {
      const input = jobInput(rows, width);
      expect(input.buffer).not.toBe(matrix.buffer);
      expect(Array.from(input)).toEqual(rows.flatMap((r) => Array.from(r)));
    }
  });
});
