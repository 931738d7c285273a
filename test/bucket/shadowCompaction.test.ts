import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShadowTracker, type ShadowAgreement } from '../../src/inference/shadowTracker';
import { embeddedS3ClientConfig, startEmbeddedS3, type EmbeddedS3 } from '../../src/local/s3/embeddedS3';
import { SHADOW_SUMMARY_FILE, shadowPairPrefix } from '../../src/registry/bucketLayout';
import { StorageUnavailableError } from '../../src/errors';
import { ObjectStore } from '../../src/storage/objectStore';
import { featuresFor, startTestStack } from '../support/stack';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { demoVersionFiles } from '../../src/local/demoSeed';
import { publishVersion } from '../../src/registry/versionPublisher';

/**
 * Shadow agreement counts are write-once files, one per instance and flush;
 * compaction folds them into one summary.json per pair of versions and deletes
 * them, so a reader's work stays bounded. These tests run against the embedded
 * S3 server, with several trackers over their own S3 clients (what separate
 * instances would be).
 */
const BUCKET = 'shadow-compaction';

/** An ObjectStore whose next listKeys (every one with `keepHook`) runs `hook` after its listing was taken (before it returns). */
class HookedStore extends ObjectStore {
  hook: (() => Promise<void>) | undefined;
  keepHook = false;
  override async listKeys(prefix: string): Promise<string[]> {
    const keys = await super.listKeys(prefix);
    const hook = this.hook;
    if (!this.keepHook) this.hook = undefined;
    if (hook) await hook();
    return keys;
  }
}

describe('shadow agreement compaction', () => {
  let s3: EmbeddedS3;
  let dataDir: string;
  const clients: S3Client[] = [];
  const warnings: string[] = [];

  const store = <T extends ObjectStore = ObjectStore>(
    Kind: new (c: S3Client, b: string) => T = ObjectStore as never,
  ): T => {
    const client = new S3Client(embeddedS3ClientConfig(s3.endpoint));
    clients.push(client);
    return new Kind(client, BUCKET);
  };
  /** A tracker of its own (another instance); flushes only when told. */
  const instance = (compactAfterFiles: number, on: ObjectStore = store()) =>
    new ShadowTracker(on, { flushIntervalMs: 3_600_000, compactAfterFiles, onWarning: (m) => warnings.push(m) });
  /** What a fresh instance (nothing cached, nothing pending) reads. */
  const fresh = (model: string) => instance(1_000).agreement(model);
  const filesOf = async (model: string, prod: string, staging: string) => {
    const folder = shadowPairPrefix(model, prod, staging);
    return (await store().listKeys(folder)).map((k) => k.slice(folder.length));
  };
  const summaryOf = async (model: string, prod: string, staging: string) =>
    JSON.parse((await store().get(shadowPairPrefix(model, prod, staging) + SHADOW_SUMMARY_FILE)).body.toString('utf8'));

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'modelgraph-shadow-'));
    s3 = await startEmbeddedS3({ dataDir });
    await s3.ensureBucket(BUCKET);
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await s3?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('folds a pair’s files into summary.json once it has N of them, deletes them, and every sum stays exact', async () => {
    // Prepare
    const model = 'etfs/CMP1';
    const writer = instance(4);
    let rows = 0;
    let agreements = 0;
    // Act: ten flushes of v1→v2 counts, one flush of another pair
    for (let i = 1; i <= 10; i++) {
      writer.record(model, 'v1', 'v2', 10 + i, i);
      rows += 10 + i;
      agreements += i;
      await writer.flush();
      // Assess: another instance reads the exact total after every flush, compacted or not
      expect(await fresh(model)).toEqual([{ productionVersion: 'v1', stagingVersion: 'v2', rows, agreements }]);
      expect(await writer.agreement(model)).toEqual([
        { productionVersion: 'v1', stagingVersion: 'v2', rows, agreements },
      ]);
    }
    writer.record(model, 'v1', 'v3', 7, 7);
    await writer.flush();

    // Assess: compacted at the 4th and 8th file: a summary of 8 files and the 2 files since
    expect(writer.counters).toMatchObject({ compactions: 2, filesCompacted: 8, compactionConflicts: 0 });
    const files = await filesOf(model, 'v1', 'v2');
    expect(files).toHaveLength(3);
    expect(files).toContain(SHADOW_SUMMARY_FILE);
    const first8 = { rows: [...Array(8).keys()].reduce((s, k) => s + 11 + k, 0), agreements: 36 };
    expect(await summaryOf(model, 'v1', 'v2')).toMatchObject({ ...first8, files: 8 });
    // The other pair is untouched (one file, below the threshold).
    expect(await filesOf(model, 'v1', 'v3')).toHaveLength(1);
    expect(await fresh(model)).toEqual([
      { productionVersion: 'v1', stagingVersion: 'v2', rows, agreements },
      { productionVersion: 'v1', stagingVersion: 'v3', rows: 7, agreements: 7 },
    ]);
    // A reader's work is bounded by the files left: one summary and three count files (not eleven).
    s3.resetRequests();
    await fresh(model);
    expect(s3.count({ method: 'GET', keyPrefix: 'metadata/shadow/' })).toBe(4);
    expect(warnings).toEqual([]);
  });

  it('a compaction stopped before its deletes leaves files its summary names: counted once, deleted by the next flush', async () => {
    // Prepare
    const model = 'etfs/CMP2';
    const writer = instance(3);
    const deletes = (r: { method: string; query: string }) => r.method === 'POST' && /(^|&)delete(=|&|$)/.test(r.query);
    s3.injectFault({ match: deletes, kind: 'status', status: 500 });
    // Act: the third and the sixth flush compact; their DeleteObjects fail
    for (let i = 1; i <= 6; i++) {
      writer.record(model, 'v1', 'v2', 5, 2);
      await writer.flush();
    }
    s3.clearFaults();

    // Assess: the summary holds the six files, which are all still there and named in `absorbed`
    expect(writer.counters.compactions).toBe(2);
    // Flushes 3 to 6 each tried to delete (3 and 6 after compacting, 4 and 5 the leftovers) and warned.
    expect(warnings.splice(0)).toEqual(
      Array(4).fill('compacted shadow count files could not be deleted; the next compaction tries again'),
    );
    const left = (await filesOf(model, 'v1', 'v2')).filter((f) => f !== SHADOW_SUMMARY_FILE);
    expect(left).toHaveLength(6);
    const summary = await summaryOf(model, 'v1', 'v2');
    expect(summary).toMatchObject({ rows: 30, agreements: 12, files: 6 });
    expect([...summary.absorbed].sort()).toEqual([...left].sort());
    expect(await fresh(model)).toEqual([{ productionVersion: 'v1', stagingVersion: 'v2', rows: 30, agreements: 12 }]);

    // Act: one more flush (one new file: below the threshold) deletes the leftovers
    writer.record(model, 'v1', 'v2', 4, 4);
    await writer.flush();

    // Assess
    const after = await filesOf(model, 'v1', 'v2');
    expect(after).toHaveLength(2);
    expect(after.filter((f) => left.includes(f))).toEqual([]);
    expect(await fresh(model)).toEqual([{ productionVersion: 'v1', stagingVersion: 'v2', rows: 34, agreements: 16 }]);
    // The next compaction drops the deleted names from `absorbed`.
    writer.record(model, 'v1', 'v2', 1, 0);
    writer.record(model, 'v1', 'v2', 1, 0);
    await writer.flush();
    expect(await writer.compact(model, 'v1', 'v2', 1)).toBe(true);
    const final = await summaryOf(model, 'v1', 'v2');
    expect(final).toMatchObject({ rows: 36, agreements: 16, files: 8 });
    expect(final.absorbed.some((f: string) => left.includes(f))).toBe(false);
    expect(await filesOf(model, 'v1', 'v2')).toEqual([SHADOW_SUMMARY_FILE]);
    expect(warnings).toEqual([]);
  });

  it('a reader whose listing is overtaken by two compactions counts every file once', async () => {
    // Prepare: a summary and three files not in it
    const model = 'etfs/CMP3';
    const writer = instance(4);
    let rows = 0;
    const flushOne = async (n: number) => {
      writer.record(model, 'v1', 'v2', n, 0);
      rows += n;
      await writer.flush();
    };
    for (let i = 1; i <= 7; i++) await flushOne(i);
    expect(writer.counters.compactions).toBe(1);
    const readerStore = store(HookedStore);
    const reader = instance(1_000, readerStore);
    // The reader has read (and cached) the three files once.
    expect(await reader.agreement(model)).toEqual([
      { productionVersion: 'v1', stagingVersion: 'v2', rows, agreements: 0 },
    ]);

    // Act: right after the reader's next listing, the writer compacts twice (files 8 and 9–12)
    readerStore.hook = async () => {
      for (let i = 8; i <= 12; i++) await flushOne(i);
    };
    const seen = await reader.agreement(model);

    // Assess: the first listing's files were absorbed and deleted, and the second summary no longer names them
    expect(writer.counters.compactions).toBe(3);
    expect(seen).toEqual([{ productionVersion: 'v1', stagingVersion: 'v2', rows, agreements: 0 }]);
    expect(rows).toBe(78);
  });

  it('a reader whose files are compacted away before it reads them starts over', async () => {
    // Prepare: three files, no summary yet
    const model = 'etfs/CMP4';
    const writer = instance(4);
    for (let i = 1; i <= 3; i++) {
      writer.record(model, 'v1', 'v2', 10, 1);
      await writer.flush();
    }
    const readerStore = store(HookedStore);
    const reader = instance(1_000, readerStore);
    readerStore.hook = async () => {
      writer.record(model, 'v1', 'v2', 10, 1);
      await writer.flush(); // the 4th file: compacts all four and deletes them
    };

    // Act
    s3.resetRequests();
    const seen = await reader.agreement(model);

    // Assess: a GET answered 404, and the answer is still exact
    expect(writer.counters.compactions).toBe(1);
    expect(s3.count({ method: 'GET', keyPrefix: shadowPairPrefix(model, 'v1', 'v2'), status: 404 })).toBeGreaterThan(0);
    expect(seen).toEqual([{ productionVersion: 'v1', stagingVersion: 'v2', rows: 40, agreements: 4 }]);
  });

  it('a reader whose files vanish under it at every attempt gives up with STORAGE_UNAVAILABLE, not a wrong sum', async () => {
    // Prepare: compaction every 2 files, and a writer that flushes once after each of the reader's listings,
    // so every file the reader lists is compacted and deleted before its GET.
    const model = 'etfs/CMP6';
    const writer = instance(2);
    let recorded = 0;
    const flushOne = async () => {
      writer.record(model, 'v1', 'v2', 1, 1);
      recorded++;
      await writer.flush();
    };
    await flushOne();
    const readerStore = store(HookedStore);
    readerStore.keepHook = true;
    readerStore.hook = flushOne;
    const reader = instance(1_000, readerStore);

    // Act
    const failure = await reader.agreement(model).then(
      () => undefined,
      (err: unknown) => err,
    );

    // Assess: a typed error (GraphQL: STORAGE_UNAVAILABLE), after several attempts
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect((failure as StorageUnavailableError).code).toBe('STORAGE_UNAVAILABLE');
    expect(writer.counters.compactions).toBeGreaterThanOrEqual(5);
    // Once the files stop moving, the sum is exact.
    readerStore.hook = undefined;
    expect(await reader.agreement(model)).toEqual([
      { productionVersion: 'v1', stagingVersion: 'v2', rows: recorded, agreements: recorded },
    ]);
  });

  it('instances flushing and compacting one pair at once while others read: no count lost or doubled', async () => {
    // Prepare
    const model = 'etfs/CMP5';
    const INSTANCES = 4;
    const FLUSHES = 12;
    const writers = Array.from({ length: INSTANCES }, () => instance(2));
    const readers = Array.from({ length: 2 }, () => instance(1_000));
    const totals = { startedRows: 0, startedAgreements: 0, flushedRows: 0, flushedAgreements: 0 };
    let writing = true;
    const observations: Array<{
      lower: { rows: number; agreements: number };
      seen: ShadowAgreement[];
      upper: { rows: number; agreements: number };
    }> = [];

    // Act
    const write = async (w: ShadowTracker, k: number) => {
      for (let i = 0; i < FLUSHES; i++) {
        const rows = 1 + ((k * 7 + i) % 5);
        const agreements = (k + i) % (rows + 1);
        w.record(model, 'v1', 'v2', rows, agreements);
        totals.startedRows += rows;
        totals.startedAgreements += agreements;
        await w.flush();
        totals.flushedRows += rows;
        totals.flushedAgreements += agreements;
      }
    };
    const read = async (r: ShadowTracker) => {
      while (writing) {
        const lower = { rows: totals.flushedRows, agreements: totals.flushedAgreements };
        const seen = await r.agreement(model);
        observations.push({ lower, seen, upper: { rows: totals.startedRows, agreements: totals.startedAgreements } });
      }
    };
    const reading = readers.map(read);
    await Promise.all(writers.map(write));
    writing = false;
    await Promise.all(reading);

    // Assess: every read lies between what was flushed before it began and what was recorded before it ended
    expect(observations.length).toBeGreaterThan(0);
    for (const o of observations) {
      const got = o.seen[0] ?? { rows: 0, agreements: 0 };
      expect(o.seen.length).toBeLessThanOrEqual(1);
      expect(got.rows).toBeGreaterThanOrEqual(o.lower.rows);
      expect(got.rows).toBeLessThanOrEqual(o.upper.rows);
      expect(got.agreements).toBeGreaterThanOrEqual(o.lower.agreements);
      expect(got.agreements).toBeLessThanOrEqual(o.upper.agreements);
    }
    // The end: exact, for a fresh reader and for every instance; compactions happened and the files left are few.
    const exact = [
      { productionVersion: 'v1', stagingVersion: 'v2', rows: totals.flushedRows, agreements: totals.flushedAgreements },
    ];
    expect(await fresh(model)).toEqual(exact);
    for (const w of [...writers, ...readers]) expect(await w.agreement(model)).toEqual(exact);
    const compactions = writers.reduce((s, w) => s + w.counters.compactions, 0);
    expect(compactions).toBeGreaterThan(0);
    const summary = await summaryOf(model, 'v1', 'v2');
    const left = (await filesOf(model, 'v1', 'v2')).filter(
      (f) => f !== SHADOW_SUMMARY_FILE && !summary.absorbed.includes(f),
    );
    expect(summary.files + left.length).toBe(INSTANCES * FLUSHES);
    expect(warnings).toEqual([]);
    console.log(
      `shadow compaction race: ${observations.length} reads, ${compactions} compactions, ` +
        `${writers.reduce((s, w) => s + w.counters.compactionConflicts, 0)} lost to another instance, ${left.length} files left`,
    );
  });

  it('the server compacts as it flushes: Model.shadowAgreement stays exact and the bucket keeps a summary', async () => {
    // Prepare: shadow mode on SPY (production v1.1.0, a candidate v1.2.0 in staging); every batch flushes, every 3 files compact
    const stack = await startTestStack({ env: { SHADOW_FLUSH_SECONDS: '0', SHADOW_COMPACT_FILES: '3' } });
    try {
      const { store, deployments } = stack.server.runtime;
      await publishVersion(store, 'etfs/SPY', 'v1.2.0', demoVersionFiles(777), { strategies: [...OPTION_STRATEGIES] });
      await deployments.promote({ model: 'etfs/SPY', version: 'v1.2.0', stage: 'STAGING', by: 'test' });
      const set = await stack.gqlAsWriter(
        `mutation { configureTraffic(model: "etfs/SPY", shadow: true, reason: "compaction") { generation } }`,
      );
      expect(set.errors).toBeUndefined();
      const { runtime } = stack.server;
      // Act: ten requests of two rows each, each followed by its flush
      let agreements = 0;
      for (let i = 0; i < 10; i++) {
        const res = await stack.gql(
          `query($r: [PredictionRequest!]!) { predictMany(requests: $r) { shadow { agrees } } }`,
          { r: [0, 1].map((k) => ({ ticker: 'SPY', features: featuresFor(DEMO_FEATURE_NAMES, i * 2 + k) })) },
        );
        expect(res.errors).toBeUndefined();
        agreements += res.data!.predictMany.filter((p: { shadow: { agrees: boolean } }) => p.shadow.agrees).length;
        await runtime.shadows.flush();
      }

      // Assess
      // One file per request (each flush awaited): compacted at the 3rd, 6th and 9th.
      expect(runtime.shadows.counters).toMatchObject({ compactions: 3, filesCompacted: 9 });
      const t = await stack.gql(
        `{ model(id: "etfs/SPY") { shadowAgreement { productionVersion stagingVersion rows agreements } } }`,
      );
      expect(t.data!.model.shadowAgreement).toEqual([
        { productionVersion: 'v1.1.0', stagingVersion: 'v1.2.0', rows: 20, agreements },
      ]);
      const folder = shadowPairPrefix('etfs/SPY', 'v1.1.0', 'v1.2.0');
      const keys = await runtime.store.listKeys(folder);
      expect(keys).toContain(folder + SHADOW_SUMMARY_FILE);
      expect(keys).toHaveLength(2);
    } finally {
      await stack.close();
    }
  });
});
