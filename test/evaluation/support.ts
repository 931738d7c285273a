import { parquetWriteBuffer } from 'hyparquet-writer';
import * as ort from 'onnxruntime-node';
import { buildTreeEnsembleClassifier } from '../../src/demo/treeEnsemble';
import { GOV_FEATURES, GOV_LABELS } from '../governance/support';

export const EVAL_FEATURES = GOV_FEATURES;
export const EVAL_LABELS = GOV_LABELS;

/** A model's bytes exactly as test/governance/support.ts publishes them for a seed. */
export function modelBytes(seed: number, featureNames = EVAL_FEATURES, labels = EVAL_LABELS): Uint8Array {
  return buildTreeEnsembleClassifier({ featureNames, labels, trees: 4, depth: 3, seed });
}

/** Known rows: features in [-1, 1], labels (one that no model has), timestamps over four months, pnl, ticker. */
export interface KnownRows {
  n: number;
  features: Record<string, number[]>;
  labels: string[];
  timestamps: Date[];
  pnl: number[];
  tickers: string[];
}

export function knownRows(n: number, seed = 1): KnownRows {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const features: Record<string, number[]> = {};
  for (const f of EVAL_FEATURES)
    features[f] = Array.from({ length: n }, () => Math.round((rand() * 2 - 1) * 1e4) / 1e4);
  const pool = [...EVAL_LABELS, 'LONG_STRADDLE'];
  const labels = Array.from({ length: n }, () => pool[Math.floor(rand() * pool.length)]);
  const start = Date.UTC(2024, 0, 1);
  const timestamps = Array.from({ length: n }, (_, i) => new Date(start + Math.floor((i / n) * 120) * 86_400_000));
  const pnl = Array.from({ length: n }, () => Math.round((rand() * 200 - 100) * 100) / 100);
  const tickers = Array.from({ length: n }, (_, i) => ['SPY', 'QQQ', 'IWM'][i % 3]);
  return { n, features, labels, timestamps, pnl, tickers };
}

/** The rows as a Parquet file with row groups of `rowGroupSize` rows (hyparquet-writer). */
export function parquetOf(rows: KnownRows, rowGroupSize: number, omit: string[] = []): Buffer {
  const columnData = [
    ...EVAL_FEATURES.filter((f) => !omit.includes(f)).map((f) => ({
      name: f,
      data: rows.features[f],
      type: 'DOUBLE' as const,
    })),
    { name: 'label', data: rows.labels, type: 'STRING' as const },
    { name: 'timestamp', data: rows.timestamps, type: 'TIMESTAMP' as const },
    { name: 'pnl', data: rows.pnl, type: 'DOUBLE' as const },
    { name: 'ticker', data: rows.tickers, type: 'STRING' as const },
  ];
  return Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize }));
}

/** The label onnxruntime itself gives each row (a bare session on the model bytes, argmax of probabilities). */
export async function bareLabels(bytes: Uint8Array, rows: KnownRows, labels = EVAL_LABELS): Promise<string[]> {
  const session = await ort.InferenceSession.create(bytes);
  const width = EVAL_FEATURES.length;
  const input = new Float32Array(rows.n * width);
  for (let r = 0; r < rows.n; r++) EVAL_FEATURES.forEach((f, c) => (input[r * width + c] = rows.features[f][r]));
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, [rows.n, width]) });
  const p = out.probabilities.data as Float32Array;
  const k = labels.length;
  const answer: string[] = [];
  for (let r = 0; r < rows.n; r++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (p[r * k + c] > p[r * k + best]) best = c;
    answer.push(labels[best]);
  }
  await session.release();
  return answer;
}
