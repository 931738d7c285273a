/**
 * Bulk scoring: one `predictMatrix` of N rows of one model, over HTTP to the
 * local server, in its two forms — JSON rows in / JSON lists out, and binary
 * rows (`rowsF32`) in / compact outputs (`strategyIndexes`, `probabilitiesF32`)
 * out — against a bare session.run of the same rows in the same process. The
 * three alternate within every repetition, so load on the machine reaches each
 * alike. The client's decoding of the answer is not counted (it is the same
 * `JSON.parse` of a few bytes per row for binary, and far more for JSON).
 */
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import { onnxRuntime } from '../../src/inference/onnxRuntime';
import type { BenchBucket, SizeName } from '../lib/benchBucket';
import { featureRow, featureVector } from '../lib/graphqlPayloads';
import type { BenchLocalServer } from '../lib/localStack';
import { mb, table } from '../lib/markdown';
import { fmtInt, ms, summarize, type Summary } from '../lib/stats';

export const BULK_JSON_QUERY = `query PredictMatrixJson($ticker: String!, $featureNames: [String!]!, $rows: JSON) {
  predictMatrix(ticker: $ticker, featureNames: $featureNames, rows: $rows) { version strategies confidences probabilities }
}`;

export const BULK_BINARY_QUERY = `query PredictMatrixBinary($ticker: String!, $featureNames: [String!]!, $rowsF32: Base64) {
  predictMatrix(ticker: $ticker, featureNames: $featureNames, rowsF32: $rowsF32) { version strategyIndexes probabilitiesF32 }
}`;

/** The goal: binary predictMatrix rows/s ≥ this share of bare session.run rows/s. */
export const BULK_BINARY_GOAL = 0.85;

export interface BulkScoringRow {
  size: SizeName;
  rows: number;
  repetitions: number;
  json: Summary;
  binary: Summary;
  bare: Summary;
  jsonRequestBytes: number;
  binaryRequestBytes: number;
  jsonResponseBytes: number;
  binaryResponseBytes: number;
  jsonRowsPerSec: number;
  binaryRowsPerSec: number;
  bareRowsPerSec: number;
  /** JSON / binary rows/s ÷ bare rows/s */
  jsonRatio: number;
  binaryRatio: number;
}

export async function runBulkScoring(
  bucket: BenchBucket,
  local: BenchLocalServer,
  opts: { sizes: SizeName[]; rows: number; repetitions: number; log: (line: string) => void },
): Promise<BulkScoringRow[]> {
  const { runtime } = local.server;
  const ort = await onnxRuntime();
  const width = DEMO_FEATURE_NAMES.length;
  const n = opts.rows;
  const input = new Float32Array(n * width);
  for (let i = 0; i < n; i++) input.set(featureVector(i), i * width);
  // JSON rows as a client writes them (the float32 input holds the same values, rounded to float32).
  const rows = Array.from({ length: n }, (_, i) => {
    const features = featureRow(i);
    return DEMO_FEATURE_NAMES.map((name) => features[name]);
  });
  const out: BulkScoringRow[] = [];
  for (const size of opts.sizes) {
    const variant = bucket.sizes[size].variants['model.onnx'];
    await runtime.predictor.deployedBundle(variant.model); // loaded before timing
    const session = await ort.InferenceSession.create(bucket.rawModels[size], {
      intraOpNumThreads: runtime.config.ORT_INTRA_OP_THREADS,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: runtime.config.ORT_GRAPH_OPTIMIZATION,
    });
    const variables = { ticker: variant.ticker, featureNames: DEMO_FEATURE_NAMES };
    const jsonBody = Buffer.from(JSON.stringify({ query: BULK_JSON_QUERY, variables: { ...variables, rows } }));
    const rowsF32 = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('base64');
    const binaryBody = Buffer.from(JSON.stringify({ query: BULK_BINARY_QUERY, variables: { ...variables, rowsF32 } }));
    const bytes = { json: 0, binary: 0 };
    const cases = {
      json: async () => (bytes.json = checked(await local.post(jsonBody), 'JSON')),
      binary: async () => (bytes.binary = checked(await local.post(binaryBody), 'binary')),
      bare: () => session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, [n, width]) }),
    };
    const samples: Record<keyof typeof cases, number[]> = { json: [], binary: [], bare: [] };
    for (const fn of Object.values(cases)) await fn(); // warm-up, unmeasured
    for (let r = 0; r < opts.repetitions; r++) {
      // Rotate the order so no case always runs right after another.
      const order = (Object.keys(cases) as Array<keyof typeof cases>).map((_, k, keys) => keys[(k + r) % keys.length]);
      for (const name of order) {
        const t = performance.now();
        await cases[name]();
        samples[name].push(performance.now() - t);
      }
    }
    await session.release();
    const json = summarize(samples.json);
    const binary = summarize(samples.binary);
    const bare = summarize(samples.bare);
    const perSec = (s: Summary) => (n / s.median) * 1000;
    const row: BulkScoringRow = {
      size,
      rows: n,
      repetitions: opts.repetitions,
      json,
      binary,
      bare,
      jsonRequestBytes: jsonBody.byteLength,
      binaryRequestBytes: binaryBody.byteLength,
      jsonResponseBytes: bytes.json,
      binaryResponseBytes: bytes.binary,
      jsonRowsPerSec: perSec(json),
      binaryRowsPerSec: perSec(binary),
      bareRowsPerSec: perSec(bare),
      jsonRatio: bare.median / json.median,
      binaryRatio: bare.median / binary.median,
    };
    out.push(row);
    opts.log(
      `bulk scoring ${size} ${n} rows: predictMatrix binary ${binary.median.toFixed(1)} ms (${(row.binaryRatio * 100).toFixed(0)}% of bare), ` +
        `JSON ${json.median.toFixed(1)} ms (${(row.jsonRatio * 100).toFixed(0)}%), bare ${bare.median.toFixed(1)} ms`,
    );
  }
  return out;
}

/** The response's size; throws unless it is a 200 without errors. */
function checked(res: { status: number; text: string }, what: string): number {
  if (res.status !== 200 || res.text.startsWith('{"errors"'))
    throw new Error(`predictMatrix (${what}) failed (${res.status}): ${res.text.slice(0, 400)}`);
  return Buffer.byteLength(res.text);
}

/** Bulk scoring: predictMatrix binary vs JSON vs bare session.run. */
export function renderBulkScoring(bulk: BulkScoringRow[] | undefined): string {
  const out: string[] = [];
  if (!bulk?.length) return '';
  out.push('### Bulk scoring: `predictMatrix` with binary rows vs JSON rows vs bare `session.run`');
  out.push('');
  out.push(
    table(
      [
        'Model',
        'Rows',
        'Reps',
        'Binary p50',
        'Binary rows/s',
        'Binary/bare',
        'JSON p50',
        'JSON/bare',
        'Bare p50',
        'Request binary / JSON',
        'Response binary / JSON',
      ],
      bulk.map((b) => [
        b.size,
        fmtInt(b.rows),
        String(b.repetitions),
        ms(b.binary.median),
        fmtInt(b.binaryRowsPerSec),
        `${(b.binaryRatio * 100).toFixed(0)}%`,
        ms(b.json.median),
        `${(b.jsonRatio * 100).toFixed(0)}%`,
        ms(b.bare.median),
        `${mb(b.binaryRequestBytes)} / ${mb(b.jsonRequestBytes)}`,
        `${mb(b.binaryResponseBytes)} / ${mb(b.jsonResponseBytes)}`,
      ]),
    ),
  );
  out.push('');
  out.push(
    'One `predictMatrix` over HTTP to the local server until the whole response text is read. Binary = `rowsF32` (little-endian float32, base64) in, `strategyIndexes` + `probabilitiesF32` out; JSON = `rows` (number arrays) in, `strategies` + `confidences` + `probabilities` out. Bare = `session.run` of the same float32 rows in the same process. The three cases alternate within each repetition (rotating order) after one unmeasured warm-up each; ratios are bare p50 ÷ case p50.',
  );
  out.push('');
  return out.join('\n');
}
