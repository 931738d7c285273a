// Ways to fetch one large model from the S3 server, timed in a fresh process
// (first request on a new connection, as in a cold start):
//   single          one GET, then sha256 over the bytes
//   single-stream   one GET with sha256 updated chunk by chunk while it downloads
//   ranged          N parallel ranged GETs (Range: bytes=a-b) into one buffer, then sha256
// MGB_SPEC: { url, size, mode, parts }
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { report } from './trace.mjs';

const spec = JSON.parse(readFileSync(process.env.MGB_SPEC, 'utf8'));
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function get(url, headers, onChunk) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers }, (res) => {
        if (res.statusCode !== 200 && res.statusCode !== 206) {
          res.resume();
          reject(new Error(`GET answered ${res.statusCode}`));
          return;
        }
        res.on('data', onChunk);
        res.on('end', resolve);
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

try {
  const out = Buffer.allocUnsafe(spec.size);
  const t0 = performance.now();
  let digest;
  let fetchEnd;
  if (spec.mode === 'ranged') {
    const part = Math.ceil(spec.size / spec.parts);
    await Promise.all(
      Array.from({ length: spec.parts }, (_, i) => {
        const start = i * part;
        const end = Math.min(spec.size, start + part) - 1;
        let at = start;
        return get(spec.url, { range: `bytes=${start}-${end}` }, (chunk) => {
          chunk.copy(out, at);
          at += chunk.length;
        });
      }),
    );
    fetchEnd = performance.now();
    digest = createHash('sha256').update(out).digest('hex');
  } else if (spec.mode === 'single-stream') {
    const hash = createHash('sha256');
    let at = 0;
    await get(spec.url, {}, (chunk) => {
      chunk.copy(out, at);
      at += chunk.length;
      hash.update(chunk);
    });
    fetchEnd = performance.now();
    digest = hash.digest('hex');
  } else {
    let at = 0;
    await get(spec.url, {}, (chunk) => {
      chunk.copy(out, at);
      at += chunk.length;
    });
    fetchEnd = performance.now();
    digest = createHash('sha256').update(out).digest('hex');
  }
  const end = performance.now();
  report({ kind: 'fetch', fetchMs: fetchEnd - t0, totalMs: end - t0, digest });
  process.exit(0);
} catch (err) {
  report({ kind: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
}
