/**
 * kill -9: the local server runs in a child process (`src/local/main.ts`, as
 * `npm start` runs it) and is killed with SIGKILL — in the middle of a burst of
 * concurrent promotions and rollbacks, and between a move and its delivery.
 * Restarted on the same data folder, it delivers every move the stage
 * pointers hold as an event (at least once: every id arrives) and brings
 * modelRegistry / recentDeployments to the pointers' generation. Nothing here
 * measures time: it waits for states and events with a generous deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LOCAL_BUCKET, S3_ENDPOINT_FILE } from '../../src/local/localTarget';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { stagePointerKey } from '../../src/registry/bucketLayout';
import { Deployments } from '../../src/registry/deployments';
import { readDeploymentHistory, readModelRegistry } from '../../src/registry/modelRegistryFeed';
import { Registry } from '../../src/registry/registry';
import { parseJsonDocument, StagePointerSchema, type StagePointer } from '../../src/registry/versionMetadata';
import { ObjectStore } from '../../src/storage/objectStore';
import { createS3Client } from '../../src/storage/s3Client';
import { WEBHOOK_SECRET, WebhookReceiver, waitFor } from './support';

const ROOT = resolve(import.meta.dirname, '../..');
const TOKEN = 'kill-nine-admin-token-0123456789';

interface Child {
  process: ChildProcess;
  graphqlUrl: string;
  output: () => string;
}

const children: ChildProcess[] = [];
const clients: ReturnType<typeof createS3Client>[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) await kill(c, 'SIGTERM');
  for (const c of clients.splice(0)) c.destroy();
});

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Starts `src/local/main.ts` in a child process on `dataDir`; resolves once it serves GraphQL. */
async function startServer(dataDir: string, env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', 'tsx', 'src/local/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      MODELGRAPH_DATA_DIR: dataDir,
      MODELGRAPH_WRITE_TOKEN: TOKEN,
      NODE_ENV: 'test',
      LOG_LEVEL: 'ERROR',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const url = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the local server exited:\n${output}`);
      return /GraphQL\s+(http:\S+)/.exec(output)?.[1];
    },
    'the local server to start',
    120_000,
  );
  return { process: child, graphqlUrl: url, output: () => output };
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

async function gql(server: Child, query: string): Promise<{ data?: any; errors?: any[] }> {
  const res = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as { data?: any; errors?: any[] };
}

/** The bucket of the server running on `dataDir` (its S3 endpoint file names it), from this process. */
async function bucketOf(dataDir: string): Promise<ObjectStore> {
  const endpoint = (await readFile(join(dataDir, S3_ENDPOINT_FILE), 'utf8')).trim();
  const client = createS3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: EMBEDDED_S3_CREDENTIALS,
  });
  clients.push(client);
  return new ObjectStore(client, LOCAL_BUCKET);
}

async function pointerOf(store: ObjectStore, model: string): Promise<StagePointer> {
  const key = stagePointerKey(model, 'PRODUCTION');
  return parseJsonDocument(StagePointerSchema, (await store.get(key)).body, key);
}

/** Waits until every record of the pointer is an event, model_registry.json holds its generation and the feed every record. */
async function expectConverged(store: ObjectStore, receiver: WebhookReceiver, model: string): Promise<StagePointer> {
  const pointer = await pointerOf(store, model);
  const ids = pointer.history.map((r) => r.id);
  await waitFor(() => {
    const got = new Set(receiver.unique().map((e) => e.id));
    return ids.every((id) => got.has(id)) || undefined;
  }, `events for every record of ${model} (generation ${pointer.generation})`);
  await waitFor(async () => {
    const entry = (await readModelRegistry(store)).find((m) => m.model === model);
    return entry?.production?.generation === pointer.generation || undefined;
  }, `model_registry.json at generation ${pointer.generation}`);
  await waitFor(async () => {
    const feed = new Set((await readDeploymentHistory(store)).map((d) => d.id));
    return ids.every((id) => feed.has(id)) || undefined;
  }, `deployment_history.json with every record of ${model}`);
  // The events carry the records' generations, by and versions
  const byId = new Map(receiver.unique().map((e) => [e.id, e]));
  for (const r of pointer.history) {
    expect(byId.get(r.id)).toMatchObject({ model, generation: r.generation, by: r.by, from: r.from, to: r.to });
  }
  for (const r of receiver.received) expect(r.signatureValid).toBe(true);
  return pointer;
}

describe('kill -9 of the local server', () => {
  it('mid-burst of concurrent promotions and rollbacks: after a restart, every move is an event and the registries catch up', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'modelgraph-kill9-'));
    dirs.push(dataDir);
    const receiver = new WebhookReceiver();
    await receiver.start();
    const env = {
      EVENTS_WEBHOOK_URL: receiver.url,
      EVENTS_WEBHOOK_SECRET: WEBHOOK_SECRET,
      EVENTS_CATCHUP_SECONDS: '3600', // the restart's catch-up must do it, not a timer
    };
    const model = 'stocks/universal';
    let server = await startServer(dataDir, env);
    // Act: 4 writers at a time, promoting and rolling back one model; SIGKILL after 12 moves succeeded
    let succeeded = 0;
    let killed = false;
    const mutations = [
      `mutation { promote(model: "${model}", version: "v1.0.0", reason: "burst") { generation } }`,
      `mutation { rollback(model: "${model}", reason: "burst") { generation } }`,
      `mutation { promote(model: "${model}", version: "v1.1.0", reason: "burst") { generation } }`,
    ];
    const writer = async (w: number) => {
      for (let i = 0; !killed; i++) {
        const res = await gql(server, mutations[(w + i) % mutations.length]).catch(() => undefined);
        if (res?.data && !res.errors) succeeded++;
        if (succeeded >= 12 && !killed) {
          killed = true;
          await kill(server.process, 'SIGKILL');
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(writer));
    expect(server.process.signalCode).toBe('SIGKILL');
    // Act: restart on the same data folder
    server = await startServer(dataDir, env);
    const store = await bucketOf(dataDir);
    // Assess
    const pointer = await expectConverged(store, receiver, model);
    expect(pointer.generation).toBeGreaterThanOrEqual(2 + 12);
    await receiver.stop();
  });

  it('between a move and its delivery (receiver down; another writer died before the feed update): the restart delivers both and repairs the registries', async () => {
    // Prepare: the receiver is down; no timer catch-up
    const dataDir = await mkdtemp(join(tmpdir(), 'modelgraph-kill9-'));
    dirs.push(dataDir);
    const receiver = new WebhookReceiver();
    await receiver.start();
    const port = receiver.port;
    await receiver.stop(); // connection refused
    const env = {
      EVENTS_WEBHOOK_URL: receiver.url,
      EVENTS_WEBHOOK_SECRET: WEBHOOK_SECRET,
      EVENTS_CATCHUP_SECONDS: '3600',
      EVENTS_MAX_ATTEMPTS: '1',
    };
    const model = 'etfs/QQQ';
    let server = await startServer(dataDir, env);
    // Act 1: a move through the server; its delivery fails (nobody listens)
    const moved = await gql(
      server,
      `mutation { promote(model: "${model}", version: "v1.0.0", reason: "undelivered") { generation } }`,
    );
    expect(moved.errors).toBeUndefined();
    // Act 2: another process moves the pointer and dies before updating the registries (no listeners at all)
    const store = await bucketOf(dataDir);
    const other = new Deployments(new Registry(store, { pointerTtlMs: 0, maxStaleMs: 0 }));
    const direct = await other.rollback({
      model,
      stage: 'PRODUCTION',
      to: 'v1.0.0',
      by: 'other-process',
      reason: 'no feed',
    });
    expect((await readModelRegistry(store)).find((m) => m.model === model)!.production!.generation).toBe(
      direct.record.generation - 1,
    );
    // Act 3: kill -9, receiver back, restart
    await kill(server.process, 'SIGKILL');
    expect(receiver.unique()).toEqual([]);
    await receiver.start(port);
    server = await startServer(dataDir, env);
    // Assess
    const restarted = await bucketOf(dataDir);
    const pointer = await expectConverged(restarted, receiver, model);
    expect(pointer.generation).toBe(direct.record.generation);
    const events = receiver.unique((e) => e.model === model && e.generation >= moved.data.promote.generation);
    expect(events.map((e) => [e.type, e.by, e.reason])).toEqual([
      ['PROMOTED', 'admin', 'undelivered'],
      ['ROLLED_BACK', 'other-process', 'no feed'],
    ]);
    await receiver.stop();
  });
});
