import { BadUserInputError } from '../errors';

/**
 * Validates a columnar batch: `featureNames` must be exactly the model's, in
 * its order (so a promotion that reorders or renames features fails loudly
 * instead of silently scoring shuffled columns), and `rows` an array of arrays
 * of that width holding finite numbers. Answers the row-major Float32 matrix.
 */
export function parseFeatureMatrix(
  modelFeatures: readonly string[],
  featureNames: readonly string[],
  rows: unknown,
  maxRows: number,
): { input: Float32Array; n: number } {
  if (featureNames.length !== modelFeatures.length || featureNames.some((n, i) => n !== modelFeatures[i])) {
    const given = new Set(featureNames);
    const expected = new Set(modelFeatures);
    const missing = modelFeatures.filter((n) => !given.has(n));
    const unknown = featureNames.filter((n) => !expected.has(n));
    throw new BadUserInputError(
      missing.length || unknown.length
        ? `featureNames differ from the model's (missing ${missing.slice(0, 10).join(', ') || 'none'}; unknown ${unknown.slice(0, 10).join(', ') || 'none'})`
        : "featureNames name the model's features in another order; send them in the model's order",
      {
        missingFeatures: missing.slice(0, 200),
        unknownFeatures: unknown.slice(0, 200),
        expectedFeatureNames: [...modelFeatures],
      },
    );
  }
  if (!Array.isArray(rows)) throw new BadUserInputError('rows must be an array of rows (arrays of numbers)');
  if (rows.length === 0) throw new BadUserInputError('rows is empty');
  if (rows.length > maxRows)
    throw new BadUserInputError(`at most ${maxRows} rows per request (got ${rows.length})`, { maxBatch: maxRows });
  const width = modelFeatures.length;
  const input = new Float32Array(rows.length * width);
  for (let r = 0; r < rows.length; r++) {
    const row: unknown = rows[r];
    if (!Array.isArray(row) || row.length !== width) {
      throw new BadUserInputError(`rows[${r}] must be an array of ${width} numbers`, { row: r });
    }
    for (let c = 0; c < width; c++) {
      const v: unknown = row[c];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new BadUserInputError(`rows[${r}][${c}] (${modelFeatures[c]}) is not a finite number`, {
          row: r,
          invalidFeatures: [modelFeatures[c]],
        });
      }
      input[r * width + c] = v;
    }
  }
  return { input, n: rows.length };
}
