// Timing hooks shared by the benchmark's child processes. With
// MODELGRAPH_TRACE_COLDSTART=1 they record, on the child's performance.now()
// clock (0 = process start):
//  - every outgoing HTTP request (S3): method, path, start, response headers, end of body;
//  - the model-loading phases Modelgraph publishes on the `modelgraph:load`
//    diagnostics channel (src/inference/loadTrace.ts): s3-get, checksum,
//    disk-read, decompress, ort-import, session-create, probe, run.
// Nothing here touches a response stream's flow: only 'end' is observed.
import { subscribe } from 'node:diagnostics_channel';

export const tracing = process.env.MODELGRAPH_TRACE_COLDSTART === '1';

/** @type {Array<{phase: string, key: string, start: number, end: number}>} */
export const phases = [];
/** @type {Array<{method: string, path: string, start: number, headers: number, end: number, status: number, bytes: number}>} */
export const requests = [];

if (tracing) {
  subscribe('modelgraph:load', (message) => phases.push(message));
  subscribe('http.client.request.start', ({ request }) => {
    const record = {
      method: request.method,
      path: request.path,
      start: performance.now(),
      headers: Number.NaN,
      end: Number.NaN,
      status: 0,
      bytes: 0,
    };
    requests.push(record);
    request.once('response', (res) => {
      record.headers = performance.now();
      record.status = res.statusCode ?? 0;
      record.bytes = Number(res.headers['content-length'] ?? 0);
      res.once('end', () => {
        record.end = performance.now();
      });
    });
  });
}

/** One line the parent parses; everything else on stdout (the function's logs) is ignored. */
export function report(message) {
  process.stdout.write(`@@MGBENCH ${JSON.stringify(message)}\n`);
}

/** Per-call latencies of `fn` after `warmup` unmeasured calls. */
export async function sampleLatency(fn, count, warmup) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const samples = new Array(count);
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await fn(i);
    samples[i] = performance.now() - t;
  }
  return samples;
}
