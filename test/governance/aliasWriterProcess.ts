/**
 * One alias writer in a process of its own (forked by aliasRaces.test.ts with
 * `--import tsx`): its own S3 client, store, registry and Governance over the
 * test stack's bucket, nothing cached shared with anyone. It answers on the
 * IPC channel:
 *   parent → { type: 'move', model, alias, version, by, reason }  → { type: 'moved', record } | { type: 'failed', code, name, message }
 *   parent → { type: 'exit' }
 * and says { type: 'ready' } once its client has made a first request (so a
 * race is not decided by who opened a connection first).
 *
 *   node --import tsx aliasWriterProcess.ts <s3 endpoint> <bucket>
 */
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { Governance } from '../../src/registry/governance';
import { Registry } from '../../src/registry/registry';
import { ObjectStore } from '../../src/storage/objectStore';
import { createS3Client } from '../../src/storage/s3Client';

const [endpoint, bucket] = process.argv.slice(2);
const client = createS3Client({
  region: 'us-east-1',
  endpoint,
  forcePathStyle: true,
  credentials: EMBEDDED_S3_CREDENTIALS,
});
const store = new ObjectStore(client, bucket);
const governance = new Governance(new Registry(store, { pointerTtlMs: 0, maxStaleMs: 0 }));

interface Move {
  type: 'move';
  model: string;
  alias: string;
  version: string;
  by: string;
  reason: string;
}

const send = (message: unknown) => process.send!(message);

process.on('message', (message: Move | { type: 'exit' }) => {
  if (message.type === 'exit') {
    client.destroy();
    process.disconnect();
    return;
  }
  governance
    .moveAlias({
      model: message.model,
      alias: message.alias,
      version: message.version,
      by: message.by,
      reason: message.reason,
    })
    .then(
      (record) => send({ type: 'moved', record }),
      (err: Error & { code?: string }) =>
        send({ type: 'failed', code: err.code ?? null, name: err.constructor.name, message: err.message }),
    );
});

// A first request over the client's connection, then ready.
await store.getIfExists('universal/warmup/policy.json');
send({ type: 'ready' });
