// The local server (startLocalServer) in a process of its own, on the bench
// bucket named by the environment (MODEL_BUCKET, S3_ENDPOINT), so that the load
// generator does not share its event loop. Prints its URL, then serves until
// the parent ends it (SIGTERM).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalServer } from '../../src/local/server';

const dataDir = mkdtempSync(join(tmpdir(), 'modelgraph-bench-http-'));
const server = await startLocalServer({ port: 0, host: '127.0.0.1', dataDir, seed: false });
process.stdout.write(
  `@@MGBENCH ${JSON.stringify({ kind: 'ready', graphqlUrl: server.graphqlUrl.replace('localhost', '127.0.0.1') })}\n`,
);
process.on('SIGTERM', () => {
  void server.close().finally(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
});
