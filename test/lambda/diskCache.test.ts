/**
 * The /tmp artifact cache: content-addressed, atomic, verified on read, bounded
 * with LRU eviction, and never the reason a request fails. The runtime tests
 * use the embedded S3 server and real onnxruntime sessions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import { ModelgraphError } from '../../src/errors';
import { DiskArtifactCache } from '../../src/inference/diskCache';
import type { Prediction } from '../../src/inference/predictor';
import { seedDemoBucket } from '../../src/local/demoSeed';
import type { Runtime } from '../../src/runtime';
import { featuresFor } from '../support/stack';
import { startS3Fixture, type S3Fixture } from './support/s3Runtime';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let fx: S3Fixture;
let seq = 0;
/** A fresh directory path under the fixture's temp folder (not created). */
const freshDir = () => join(fx.dir, `cache-${++seq}`);

beforeAll(async () => {
  fx = await startS3Fixture();
  const seeder = fx.runtime();
  await seedDemoBucket(seeder.store, seeder.deployments);
});

afterAll(async () => {
  await fx?.close();
});

describe('DiskArtifactCache', () => {
  it('round-trips bytes under their sha256, across a restart', async () => {
    // Prepare
    const dir = freshDir();
    const bytes = randomBytes(4096);
    const cache = new DiskArtifactCache({ dir, maxBytes: 1 << 20 });
    // Act
    await cache.write(sha(bytes), bytes);
    const again = await cache.read(sha(bytes), bytes.length);
    const restarted = await new DiskArtifactCache({ dir, maxBytes: 1 << 20 }).read(sha(bytes), bytes.length);
    // Assess
    expect(again?.equals(bytes)).toBe(true);
    expect(restarted?.equals(bytes)).toBe(true);
    expect(await readdir(dir)).toEqual([sha(bytes)]);
    expect(cache.counters).toMatchObject({ writes: 1, hits: 1, corruptDropped: 0 });
  });

  it('names files only by sha256: anything else is never read or written', async () => {
    const dir = freshDir();
    const cache = new DiskArtifactCache({ dir, maxBytes: 1 << 20 });
    await cache.write('../../escape', Buffer.from('x'));
    await cache.write('ABC', Buffer.from('x'));
    expect(existsSync(dir)).toBe(false);
    expect(await cache.read('../../etc/passwd', 1)).toBeUndefined();
  });

  it('drops an entry whose bytes do not match its name (and answers a miss)', async () => {
    // Prepare
    const dir = freshDir();
    const cache = new DiskArtifactCache({ dir, maxBytes: 1 << 20 });
    const bytes = randomBytes(1000);
    await cache.write(sha(bytes), bytes);
    const file = join(dir, sha(bytes));
    const flipped = Buffer.from(bytes);
    flipped[500] ^= 0xff;
    await writeFile(file, flipped);
    // Act
    const got = await cache.read(sha(bytes), bytes.length);
    // Assess
    expect(got).toBeUndefined();
    expect(existsSync(file)).toBe(false);
    expect(cache.counters.corruptDropped).toBe(1);
    // A size that does not match is a corrupt entry too.
    await cache.write(sha(bytes), bytes);
    expect(await cache.read(sha(bytes), bytes.length + 1)).toBeUndefined();
    expect(cache.counters.corruptDropped).toBe(2);
  });

  it('evicts least-recently-used entries to stay under its bound, also after a restart', async () => {
    // Prepare
    const dir = freshDir();
    const maxBytes = 1000;
    const cache = new DiskArtifactCache({ dir, maxBytes });
    const [a, b, c, d, e] = Array.from({ length: 5 }, () => randomBytes(300));
    const onDisk = async () => {
      const names = (await readdir(dir)).sort();
      const total = (await Promise.all(names.map((n) => stat(join(dir, n))))).reduce((s, st) => s + st.size, 0);
      return { names, total };
    };
    // Act
    for (const x of [a, b, c]) {
      await cache.write(sha(x), x);
      await sleep(15);
    }
    expect(await cache.read(sha(a), 300)).toBeDefined(); // a is now the most recently used
    await sleep(15);
    await cache.write(sha(d), d);
    const afterD = await onDisk();
    await sleep(15);
    // A new process: the order comes from the files' mtimes.
    const restarted = new DiskArtifactCache({ dir, maxBytes });
    await restarted.write(sha(e), e);
    const afterE = await onDisk();
    // Assess
    expect(afterD.names).toEqual([sha(a), sha(c), sha(d)].sort());
    expect(afterD.total).toBeLessThanOrEqual(maxBytes);
    expect(afterE.names).toEqual([sha(a), sha(d), sha(e)].sort());
    expect(afterE.total).toBeLessThanOrEqual(maxBytes);
    expect(cache.counters.evictions).toBe(1);
    // Bigger than the whole bound: not cached at all.
    const huge = randomBytes(maxBytes + 1);
    await restarted.write(sha(huge), huge);
    expect((await onDisk()).names).not.toContain(sha(huge));
  });

  it('writes atomically: concurrent writers leave one complete file and no temp files', async () => {
    const dir = freshDir();
    const cache = new DiskArtifactCache({ dir, maxBytes: 1 << 24 });
    const other = new DiskArtifactCache({ dir, maxBytes: 1 << 24 });
    const bytes = randomBytes(2 << 20);
    await Promise.all([cache.write(sha(bytes), bytes), cache.write(sha(bytes), bytes), other.write(sha(bytes), bytes)]);
    expect(await readdir(dir)).toEqual([sha(bytes)]);
    expect(sha(await readFile(join(dir, sha(bytes))))).toBe(sha(bytes));
  });

  it('prepares an entry while its bytes download: commit stores it, abandon leaves nothing', async () => {
    // Prepare
    const dir = join(freshDir(), 'nested');
    const cache = new DiskArtifactCache({ dir, maxBytes: 1 << 24 });
    const bytes = randomBytes(3 << 20);
    const gone = randomBytes(100);
    // Act
    const prepared = cache.prepare(sha(bytes), bytes.length)!;
    const dropped = cache.prepare(sha(gone), gone.length)!;
    const tooBig = cache.prepare(sha(randomBytes(8)), (1 << 24) + 1);
    dropped.abandon();
    await prepared.commit(bytes);
    // Assess: only the committed entry, complete, under its name; no temp file left (the abandoned
    // one is closed and deleted in the background: wait for that state, not for a time).
    expect(tooBig).toBeUndefined();
    await expect.poll(() => readdir(dir)).toEqual([sha(bytes)]);
    expect((await cache.read(sha(bytes), bytes.length))?.equals(bytes)).toBe(true);
    expect(cache.counters).toMatchObject({ writes: 1, writeFailures: 0 });
    // A second commit of the same entry, prepared meanwhile, is not a second file either.
    await cache.prepare(sha(bytes), bytes.length)?.commit(bytes);
    expect(await readdir(dir)).toEqual([sha(bytes)]);
  });

  it('reports a prepared entry that cannot be written as a write failure, and answers a miss', async () => {
    const base = freshDir();
    await mkdir(base, { recursive: true });
    await writeFile(join(base, 'file-not-dir'), 'x');
    const warnings: Array<Record<string, unknown>> = [];
    const cache = new DiskArtifactCache({
      dir: join(base, 'file-not-dir', 'cache'),
      maxBytes: 1 << 20,
      onWarning: (_message, details) => warnings.push(details),
    });
    const bytes = randomBytes(10);
    await expect(cache.prepare(sha(bytes), 10)!.commit(bytes)).resolves.toBeUndefined();
    expect(await cache.read(sha(bytes), 10)).toBeUndefined();
    expect(cache.counters.writeFailures).toBe(1);
    expect(warnings.map((w) => w.code)).toContain('ENOTDIR');
  });

  it('creates a missing directory on first write', async () => {
    const dir = join(freshDir(), 'nested', 'cache');
    const cache = new DiskArtifactCache({ dir, maxBytes: 1 << 20 });
    const bytes = randomBytes(10);
    expect(await cache.read(sha(bytes), 10)).toBeUndefined();
    await cache.write(sha(bytes), bytes);
    expect(await readdir(dir)).toEqual([sha(bytes)]);
  });

  it('swallows write errors (ENOTDIR here; ENOSPC alike) and reports them', async () => {
    // Prepare: the cache directory lies under a regular file, so nothing can be created there
    // (chmod would not stop root, which tests may run as).
    const base = freshDir();
    await mkdir(base, { recursive: true });
    await writeFile(join(base, 'file-not-dir'), 'x');
    const warnings: Array<{ message: string; details: Record<string, unknown> }> = [];
    const cache = new DiskArtifactCache({
      dir: join(base, 'file-not-dir', 'cache'),
      maxBytes: 1 << 20,
      onWarning: (message, details) => warnings.push({ message, details }),
    });
    const bytes = randomBytes(10);
    // Act
    await expect(cache.write(sha(bytes), bytes)).resolves.toBeUndefined();
    // Assess
    expect(await cache.read(sha(bytes), 10)).toBeUndefined();
    expect(cache.counters.writeFailures).toBe(1);
    expect(warnings.some((w) => w.details.code === 'ENOTDIR')).toBe(true);
  });
});

describe('the disk cache in the runtime (embedded S3, real sessions)', () => {
  const features = featuresFor(DEMO_FEATURE_NAMES, 7);
  const predictSpy = async (runtime: Runtime) =>
    (await runtime.predictor.predictBatch([{ ticker: 'SPY', features }]))[0];
  const ok = (p: Prediction | Error): Prediction => {
    if (p instanceof Error) throw p;
    return p;
  };

  it('serves from disk after the memory cache is dropped, and re-fetches a corrupted entry from S3', async () => {
    // Prepare
    const dir = freshDir();
    const runtime = fx.runtime({ DISK_CACHE_DIR: dir });
    const disk = runtime.diskCache as DiskArtifactCache;
    // Act 1: cold — from S3, written to disk.
    const first = ok(await predictSpy(runtime));
    const pointer = (await runtime.registry.stagePointer('etfs/SPY', 'PRODUCTION'))!.value;
    const modelSha = pointer.artifacts['model.onnx'].sha256;
    // Assess 1
    expect(runtime.artifacts.counters).toMatchObject({ s3Fetches: 2, diskHits: 0 });
    expect((await readdir(dir)).sort()).toEqual([modelSha, pointer.artifacts['feature_names.json'].sha256].sort());

    // Act 2: a new "instance" of the memory cache — artifacts come from disk.
    runtime.models.clear();
    const second = ok(await predictSpy(runtime));
    expect(runtime.artifacts.counters).toMatchObject({ s3Fetches: 2, diskHits: 2 });
    expect(second.probabilities).toEqual(first.probabilities);

    // Act 3: flip one byte of the cached model.
    const file = join(dir, modelSha);
    const bytes = await readFile(file);
    bytes[bytes.length >> 1] ^= 0x01;
    await writeFile(file, bytes);
    runtime.models.clear();
    const third = ok(await predictSpy(runtime));
    // Assess 3: dropped, fetched from S3 again, re-cached with the right bytes.
    expect(disk.counters.corruptDropped).toBe(1);
    expect(runtime.artifacts.counters).toMatchObject({ s3Fetches: 3, diskHits: 3, integrityFailures: 0 });
    expect(third.probabilities).toEqual(first.probabilities);
    expect(sha(await readFile(file))).toBe(modelSha);
  });

  it('answers INTEGRITY_ERROR — never a model — when disk and S3 both hold bad bytes', async () => {
    // Prepare
    const dir = freshDir();
    const runtime = fx.runtime({ DISK_CACHE_DIR: dir });
    ok(await predictSpy(runtime));
    const pointer = (await runtime.registry.stagePointer('etfs/SPY', 'PRODUCTION'))!.value;
    const modelSha = pointer.artifacts['model.onnx'].sha256;
    const file = join(dir, modelSha);
    const bytes = await readFile(file);
    bytes[0] ^= 0xff;
    await writeFile(file, bytes);
    runtime.models.clear();
    fx.s3.injectFault({ kind: 'corrupt', match: (r) => r.method === 'GET' && r.key.endsWith('/model.onnx') });
    try {
      // Act
      const answer = await predictSpy(runtime);
      // Assess
      expect(answer).toBeInstanceOf(ModelgraphError);
      expect((answer as ModelgraphError).code).toBe('INTEGRITY_ERROR');
      expect(runtime.models.loadedKeys).toEqual([]);
      expect(existsSync(file)).toBe(false); // the bad bytes were not cached either
    } finally {
      fx.s3.clearFaults();
    }
    // Once S3 serves the right bytes again, so does the runtime.
    ok(await predictSpy(runtime));
    expect(sha(await readFile(file))).toBe(modelSha);
  });

  it('still answers when the cache directory cannot be created (and says why)', async () => {
    // Prepare
    const base = freshDir();
    await mkdir(base, { recursive: true });
    await writeFile(join(base, 'file-not-dir'), 'x');
    const warnings: Array<Record<string, unknown>> = [];
    const runtime = fx.runtime(
      { DISK_CACHE_DIR: join(base, 'file-not-dir', 'cache') },
      { onWarning: (_m, details) => warnings.push(details) },
    );
    // Act
    const answer = ok(await predictSpy(runtime));
    // Assess
    expect(answer.version).toBe('v1.1.0');
    expect((runtime.diskCache as DiskArtifactCache).counters.writeFailures).toBe(2);
    expect(warnings.map((w) => w.code)).toContain('ENOTDIR');
  });

  it('creates the configured directory when it is missing', async () => {
    const dir = join(freshDir(), 'a', 'b');
    const runtime = fx.runtime({ DISK_CACHE_DIR: dir });
    ok(await predictSpy(runtime));
    expect(await readdir(dir)).toHaveLength(2);
  });
});
