/** The local server (startLocalServer) of this process, reading the bench bucket on the embedded S3 server. */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalServer, type LocalServer } from '../../src/local/server';
import { bucketEnv, type BenchBucket } from './benchBucket';

export interface BenchLocalServer {
  server: LocalServer;
  /**
   * POSTs a JSON body over a plain node:http request (fetch would copy a large
   * body once more in this process, which is also the server's); answers the
   * status and the response text, not parsed: parsing is the client's cost.
   */
  post(body: string | Buffer): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

/** Environment of a local server on the bench bucket, in production mode (masked errors, INFO logs off). */
export function localServerEnv(bucket: BenchBucket): Record<string, string> {
  return {
    ...bucketEnv(bucket),
    NODE_ENV: 'production',
    LOG_LEVEL: 'ERROR',
    POINTER_TTL_SECONDS: '30',
    MODELGRAPH_WRITE_TOKEN: 'bench-write-token-0123456789',
  };
}

export async function startBenchLocalServer(bucket: BenchBucket, maxBodyBytes: number): Promise<BenchLocalServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'modelgraph-bench-local-'));
  // The runtime of a local server on a named bucket uses the SDK's default credential chain.
  const env = localServerEnv(bucket);
  process.env.AWS_ACCESS_KEY_ID = env.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = env.AWS_SECRET_ACCESS_KEY;
  const server = await startLocalServer({ port: 0, host: '127.0.0.1', dataDir, env, seed: false, maxBodyBytes });
  const url = server.graphqlUrl.replace('localhost', '127.0.0.1');
  return {
    server,
    post: (body) => post(url, typeof body === 'string' ? Buffer.from(body) : body),
    close: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function post(url: string, body: Buffer, retried = false): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': String(body.byteLength) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The server closed an idle keep-alive connection just as it was reused (its keepAliveTimeout is 5 s): send again, once.
      if (req.reusedSocket && err.code === 'ECONNRESET' && !retried) resolve(post(url, body, true));
      else reject(err);
    });
    req.end(body);
  });
}
