/**
 * Does a second onnxruntime intra-op thread pay for a 10,000-row batch on this machine? The bench-sized tree
 * ensembles (2 MB and 30 MB), one session with 1 thread and one with 2, runs alternating, same process.
 *   node --import tsx bench/ortThreads.ts     (ROWS=…, REPS=… to change the batch)
 * Measured for ORT_BULK_INTRA_OP_THREADS (README, docs/benchmarks.md).
 */
import * as ort from 'onnxruntime-node';
import { loadavg } from 'node:os';
import { buildTreeEnsembleClassifier, treesForTargetSize } from '../src/demo/treeEnsemble';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../src/demo/strategies';

const width = DEMO_FEATURE_NAMES.length;
const sizes = { small: [2_000_000, 6, 7001], large: [30_000_000, 8, 7002] } as const;
const rows = Number(process.env.ROWS ?? 10_000);
const reps = Number(process.env.REPS ?? 7);
const input = new Float32Array(rows * width);
for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 12.9898);
for (const [name, [bytes, depth, seed]] of Object.entries(sizes)) {
  const trees = treesForTargetSize(bytes, depth, width, OPTION_STRATEGIES.length);
  const model = buildTreeEnsembleClassifier({
    featureNames: DEMO_FEATURE_NAMES,
    labels: OPTION_STRATEGIES,
    trees,
    depth,
    seed,
  });
  const sessions: Record<string, ort.InferenceSession> = {};
  for (const threads of [1, 2])
    sessions[threads] = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  const times: Record<string, number[]> = { 1: [], 2: [] };
  for (let r = 0; r < reps + 1; r++)
    for (const threads of r % 2 ? [1, 2] : [2, 1]) {
      const s = sessions[threads];
      const t = performance.now();
      await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', input, [rows, width]) });
      if (r > 0) times[threads].push(performance.now() - t);
    }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(
    `${name} (${(model.length / 1e6).toFixed(1)} MB, ${trees} trees) ${rows} rows: 1 thread p50 ${med(times[1]).toFixed(1)} ms, 2 threads p50 ${med(times[2]).toFixed(1)} ms → ${(med(times[1]) / med(times[2])).toFixed(2)}× ; samples 1=${times[1].map((x) => x.toFixed(0)).join(',')} 2=${times[2].map((x) => x.toFixed(0)).join(',')}`,
  );
}
console.log(
  'loadavg',
  loadavg()
    .map((x: number) => x.toFixed(2))
    .join(' '),
);
