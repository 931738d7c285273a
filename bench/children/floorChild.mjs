// The floor of a cold start: a fresh process that only GETs the model bytes from
// the same S3 server (plain node:http, no SDK, no signing: the embedded server
// serves anonymous GETs) or reads them from a local file, decompresses them if
// they are .br/.gz, loads onnxruntime-node from the same layer the function
// uses, creates the session with the same options and runs one row. The GET is
// started before onnxruntime is loaded, so the two overlap as far as they can.
// Then, when asked, measures a bare session.run of one row, again and again.
//
// MGB_SPEC names a JSON file: { url | file, compression, requireFrom, session, rows, warm?: { count, warmup } }.
// The cold run predicts rows[0]; warm runs cycle through `rows` (the rows the handler's events carry).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip } from 'node:zlib';
import { report, sampleLatency } from './trace.mjs';

const scriptStart = performance.now();
const spec = JSON.parse(readFileSync(process.env.MGB_SPEC, 'utf8'));

function get(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`GET ${url} answered ${res.statusCode}`));
          return;
        }
        const length = Number(res.headers['content-length']);
        if (Number.isFinite(length)) {
          // One allocation, filled in place: no concatenation copy.
          const out = Buffer.allocUnsafe(length);
          let at = 0;
          res.on('data', (chunk) => {
            chunk.copy(out, at);
            at += chunk.length;
          });
          res.on('end', () => (at === length ? resolve(out) : reject(new Error(`short body: ${at} of ${length}`))));
        } else {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        }
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

try {
  const t = { scriptStart };
  t.fetchStart = performance.now();
  const bytesPromise = spec.file ? readFile(spec.file) : get(spec.url);
  bytesPromise.then(
    () => (t.fetchEnd = performance.now()),
    () => undefined,
  );
  // Let the request go out before the (synchronous) load of the native addon.
  await new Promise((resolve) => setImmediate(resolve));
  t.ortStart = performance.now();
  const ort = createRequire(spec.requireFrom)('onnxruntime-node');
  t.ortEnd = performance.now();
  const stored = await bytesPromise;
  t.decompressStart = performance.now();
  const model =
    spec.compression === 'br'
      ? await promisify(brotliDecompress)(stored)
      : spec.compression === 'gz'
        ? await promisify(gunzip)(stored)
        : stored;
  t.decompressEnd = performance.now();
  t.sessionStart = performance.now();
  const session = await ort.InferenceSession.create(model, spec.session);
  t.sessionEnd = performance.now();
  const width = spec.rows[0].length;
  const rows = spec.rows.map((r) => Float32Array.from(r));
  const row = rows[0];
  t.runStart = performance.now();
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', row, [1, width]) });
  t.runEnd = performance.now();
  const probabilities = Array.from(out.probabilities.data);
  report({ kind: 'cold', ...t, storedBytes: stored.byteLength, modelBytes: model.byteLength, probabilities });

  if (spec.warm) {
    const samples = await sampleLatency(
      (i) =>
        session.run({
          [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(rows[i % rows.length]), [1, width]),
        }),
      spec.warm.count,
      spec.warm.warmup,
    );
    report({ kind: 'warm', samples });
  }
  process.exit(0);
} catch (err) {
  report({ kind: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
}
