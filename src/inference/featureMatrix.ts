import { BadUserInputError } from '../errors';
import { float32FromLittleEndian } from './float32Bytes';

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
  checkFeatureNames(modelFeatures, featureNames);
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

/**
 * The binary form of a columnar batch: `bytes` holds rows × features
 * little-endian float32 values in the model's feature order (the same
 * `featureNames` guard as parseFeatureMatrix). Read without parsing a number;
 * refused like JSON rows when its length is not whole rows, when it holds more
 * than `maxRows` rows, or when a value is NaN or ±Infinity.
 */
export function decodeFeatureMatrixF32(
  modelFeatures: readonly string[],
  featureNames: readonly string[],
  bytes: Uint8Array,
  maxRows: number,
): { input: Float32Array; n: number } {
  checkFeatureNames(modelFeatures, featureNames);
  const width = modelFeatures.length;
  const rowBytes = 4 * width;
  if (bytes.byteLength === 0) throw new BadUserInputError('rowsF32 is empty');
  if (bytes.byteLength % rowBytes !== 0) {
    throw new BadUserInputError(
      `rowsF32 holds ${bytes.byteLength} bytes: not whole rows of ${width} float32 features (${rowBytes} bytes per row)`,
      { byteLength: bytes.byteLength, bytesPerRow: rowBytes },
    );
  }
  const n = bytes.byteLength / rowBytes;
  if (n > maxRows) throw new BadUserInputError(`at most ${maxRows} rows per request (got ${n})`, { maxBatch: maxRows });
  const input = float32FromLittleEndian(bytes);
  for (let i = 0; i < input.length; i++) {
    const v = input[i];
    // v - v is 0 for a finite v, NaN for NaN and ±Infinity.
    if (v - v !== 0) {
      const r = Math.floor(i / width);
      const c = i % width;
      throw new BadUserInputError(`rowsF32 row ${r}, column ${c} (${modelFeatures[c]}) is not a finite number`, {
        row: r,
        invalidFeatures: [modelFeatures[c]],
      });
    }
  }
  return { input, n };
}

/**
 * `featureNames` must be exactly the model's, in its order: a promotion that
 * reorders or renames features then fails loudly instead of silently scoring
 * shuffled columns. The error names what is missing and unknown.
 */
function checkFeatureNames(modelFeatures: readonly string[], featureNames: readonly string[]): void {
  if (featureNames.length === modelFeatures.length && featureNames.every((n, i) => n === modelFeatures[i])) return;
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
