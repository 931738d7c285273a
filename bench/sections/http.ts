/**
 * Section 6: the local server (startLocalServer, in a process of its own) under
 * autocannon (programmatic, in this process) on 127.0.0.1: one `predict` of the
 * small benchmark model, with 1 and with 50 connections.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { BenchBucket } from '../lib/benchBucket';
import { cleanEnv } from '../lib/child';
import { featureRow, PREDICT_QUERY } from '../lib/graphqlPayloads';
import { REPO_ROOT } from '../lib/lambdaTarget';
import { localServerEnv } from '../lib/localStack';
import { table } from '../lib/markdown';
import { fmtInt, ms, summarize } from '../lib/stats';

export interface HttpLoad {
  connections: number;
  durationSec: number;
  requests: number;
  requestsPerSec: number;
  /** From every 2xx response's own time (autocannon's histogram keeps whole milliseconds only). */
  latencyMeanMs: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  non2xx: number;
  errors: number;
}

export interface HttpResult {
  ticker: string;
  loads: HttpLoad[];
}

async function startServerChild(bucket: BenchBucket) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/children/localServerChild.ts')], {
    cwd: REPO_ROOT,
    env: cleanEnv(localServerEnv(bucket)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-5000)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`local server child did not start: ${stderr}`)), 60_000);
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('@@MGBENCH '));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line.slice(10)) as { graphqlUrl: string }).graphqlUrl);
      }
    });
    child.on('exit', (code) => reject(new Error(`local server child exited (${code}): ${stderr}`)));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    });
  return { url, stop };
}

export async function runHttp(
  bucket: BenchBucket,
  opts: { durationSec: number; connections: number[]; log: (line: string) => void },
): Promise<HttpResult> {
  const ticker = bucket.sizes.small.variants['model.onnx'].ticker;
  const body = JSON.stringify({
    query: PREDICT_QUERY,
    variables: { ticker, features: featureRow(3) },
    operationName: 'Predict',
  });
  const server = await startServerChild(bucket);
  try {
    const headers = { 'content-type': 'application/json' };
    // Load the model and warm the JIT before measuring.
    for (let i = 0; i < 200; i++) {
      const res = await fetch(server.url, { method: 'POST', headers, body });
      const text = await res.text();
      if (res.status !== 200 || text.includes('"errors"'))
        throw new Error(`predict over HTTP failed (${res.status}): ${text.slice(0, 300)}`);
    }
    const loads: HttpLoad[] = [];
    for (const connections of opts.connections) {
      const times: number[] = [];
      const r = await autocannon({
        url: server.url,
        method: 'POST',
        headers,
        body,
        connections,
        duration: opts.durationSec,
        timeout: 30,
      }).on('response', (_client, status, _bytes, ms) => {
        if (status >= 200 && status < 300) times.push(ms);
      });
      const latency = summarize(times);
      loads.push({
        connections,
        durationSec: r.duration,
        requests: r.requests.total ?? r['2xx'],
        requestsPerSec: r.requests.average,
        latencyMeanMs: latency.mean,
        latencyP50Ms: latency.median,
        latencyP99Ms: latency.p99,
        latencyMaxMs: latency.max,
        non2xx: r.non2xx,
        errors: r.errors,
      });
      opts.log(
        `http ${connections} connection(s): ${r.requests.average.toFixed(0)} req/s, latency p50 ${latency.median.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms, non-2xx ${r.non2xx}, errors ${r.errors}`,
      );
    }
    return { ticker, loads };
  } finally {
    await server.stop();
  }
}

/** Section 6: the local server under autocannon. */
export function renderHttp(http: HttpResult): string {
  const out: string[] = [];
  out.push(`## 6. HTTP: local server under autocannon, one \`predict\` (${http.ticker}) on 127.0.0.1`);
  out.push('');
  out.push(
    table(
      ['Connections', 'Duration s', 'Requests', 'Req/s', 'Latency mean', 'p50', 'p99', 'max', 'Non-2xx', 'Errors'],
      http.loads.map((l) => [
        String(l.connections),
        String(l.durationSec.toFixed(1)),
        fmtInt(l.requests),
        fmtInt(l.requestsPerSec),
        ms(l.latencyMeanMs),
        ms(l.latencyP50Ms),
        ms(l.latencyP99Ms),
        ms(l.latencyMaxMs),
        String(l.non2xx),
        String(l.errors),
      ]),
    ),
  );
  out.push('');
  out.push(
    "The server runs in its own process (tsx, as `npm start` does, with NODE_ENV=production); autocannon runs in the benchmark process. Latencies are each 2xx response's own time as autocannon measures it (its histogram keeps whole milliseconds, so the percentiles are computed here).",
  );
  return out.join('\n');
}
