import { littleEndianFloat32 } from './float32Bytes';
import type { PredictionMatrix } from './predictor';

/**
 * The shapes a predictMatrix answer is read in. Each is built only when a
 * client asks for it: the JSON lists cost far more than the run for large
 * batches, the compact forms almost nothing.
 */

/** Per row, the most probable label (empty for a regressor). */
export function matrixStrategies(m: PredictionMatrix): string[] {
  return Array.from(m.strategyIndexes, (i) => m.labels[i]);
}

/** Per row, the probability of its strategy (empty for a regressor). */
export function matrixConfidences(m: PredictionMatrix): number[] {
  const columns = m.labels.length;
  return Array.from(m.strategyIndexes, (best, r) => m.values[r * columns + best]);
}

/** Per row, its values as an array: probabilities in `labels` order or outputs in `targets` order. */
export function matrixRows(m: PredictionMatrix): number[][] {
  const columns = m.task === 'REGRESSION' ? m.targets.length : m.labels.length;
  return Array.from({ length: m.n }, (_, r) => Array.from(m.values.subarray(r * columns, (r + 1) * columns)));
}

/** The values, rows × columns, as little-endian float32 bytes. */
export function matrixValuesF32(m: PredictionMatrix): Uint8Array {
  return littleEndianFloat32(m.values);
}
