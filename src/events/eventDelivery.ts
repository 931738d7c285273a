import * as z from 'zod';
import type { Config } from '../config';
import { stagePointerKey } from '../registry/bucketLayout';
import { MODEL_FAMILIES } from '../registry/identifiers';
import type { DeploymentListener, DeploymentResult } from '../registry/deployments';
import { appendDeploymentHistoryMany, updateModelRegistryMany } from '../registry/modelRegistryFeed';
import type { Registry } from '../registry/registry';
import { DeploymentRecordSchema, type DeploymentRecord } from '../registry/versionMetadata';
import type { ObjectStore } from '../storage/objectStore';
import type { ModelgraphEvent } from './event';
import {
  archivesNeeded,
  eventsOfDocument,
  parseRecordDocument,
  recordDocumentOf,
  type ParsedRecordDocument,
} from './derive';
import { eventBridgeTarget, webhookTarget, type EventTarget } from './targets';
import { WatermarkStore, type WatermarkEntry, type Watermarks } from './watermark';

/**
 * Delivers events derived from the records of record (stage pointers,
 * approval, alias and policy documents) and repairs the documents derived
 * from the stage pointers (metadata/model_registry.json and
 * metadata/deployment_history.json).
 *
 * One code path: `changed(key)` (the fast path, called after a successful
 * write) and `catchUp()` (a listing of every document of record, on start and
 * on a timer, or from a schedule on AWS) both put keys in a queue that one
 * worker drains: re-read each document, derive its records beyond the shared
 * watermark (watermark.ts), repair the derived documents, deliver the events
 * in generation order (bounded retries, jittered backoff), then advance the
 * watermark with compare-and-swap. Nothing here is awaited by a request, and
 * nothing here throws at one: failures are warnings, and what was not
 * delivered is found again by the next catch-up. Delivery is at least once;
 * an event's `id` (its record's id) de-duplicates.
 */
export interface EventDeliveryOptions {
  store: ObjectStore;
  registry: Registry;
  targets: EventTarget[];
  /** Attempts per target and batch of events before leaving them to the next catch-up (default 5). */
  maxAttempts?: number;
  /** Base of the jittered exponential backoff between attempts (default 250 ms; capped at 10 s). */
  backoffBaseMs?: number;
  /** Documents processed at once (default 4). */
  concurrency?: number;
  onWarning?: (message: string, details: Record<string, unknown>) => void;
  onInfo?: (message: string, details: Record<string, unknown>) => void;
}

/** What a catch-up did (logged by the scheduled function). */
export interface CatchUpReport {
  /** Documents of record listed. */
  listed: number;
  /** Documents re-read because their ETag differed from the watermark's. */
  read: number;
  /** Events delivered (to every target). */
  delivered: number;
  /** Events left for the next catch-up. */
  pending: number;
}

interface Outcome {
  key: string;
  entry: WatermarkEntry;
  delivered: number;
  pending: number;
}

const ArchiveChunkSchema = z.array(DeploymentRecordSchema);

export class EventDelivery {
  /** Keys of documents to re-read (a Set: a burst of moves of one document is one read). */
  private readonly queue = new Set<string>();
  private draining: Promise<void> | null = null;
  private readonly watermarks: WatermarkStore;
  private timer: ReturnType<typeof setInterval> | undefined;
  private catchingUp: Promise<CatchUpReport> | null = null;
  private readonly abort = new AbortController();
  private stats = { read: 0, delivered: 0, pending: 0 };

  constructor(private readonly opts: EventDeliveryOptions) {
    this.watermarks = new WatermarkStore(opts.store);
  }

  /** The targets events go to (none: events are derived, the derived documents repaired, nothing sent). */
  get targets(): readonly EventTarget[] {
    return this.opts.targets;
  }

  /** For Deployments.addListener: hears a pointer move and returns at once (delivery runs off the request path). */
  readonly deploymentListener: DeploymentListener = async (result: DeploymentResult) => {
    this.changed(stagePointerKey(result.record.model, result.record.stage));
  };

  /**
   * A document of record was written: re-read it and deliver its records
   * beyond the watermark, in the background. Returns at once; never throws.
   * Keys that are no document of record are ignored.
   */
  changed(key: string): void {
    if (this.abort.signal.aborted || !recordDocumentOf(key)) return;
    this.queue.add(key);
    this.kick();
  }

  /**
   * Lists every document of record and processes those whose ETag differs from
   * the watermark's (missed events, derived documents behind their pointers).
   * Resolves when they were processed; never rejects.
   */
  catchUp(): Promise<CatchUpReport> {
    this.catchingUp ??= this.runCatchUp().finally(() => (this.catchingUp = null));
    return this.catchingUp;
  }

  /**
   * Catch-up now (in the background) and every `intervalSeconds` (0: only now).
   * The timer is unref'd: it never keeps a process alive.
   */
  start(intervalSeconds: number): void {
    if (this.abort.signal.aborted) return;
    void this.catchUp();
    if (intervalSeconds > 0 && !this.timer) {
      this.timer = setInterval(() => void this.catchUp(), intervalSeconds * 1000);
      this.timer.unref();
    }
  }

  /** Stops the timer, abandons deliveries in flight (the next start catches up) and waits for the worker to stop. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.abort.abort();
    this.queue.clear();
    await this.idle();
  }

  /** Resolves when nothing is queued or in flight. */
  async idle(): Promise<void> {
    while (this.draining || this.catchingUp) {
      await Promise.all([this.draining, this.catchingUp]);
    }
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = this.drain()
      .catch((err) => this.warn('event delivery failed; the next catch-up retries', { error: message(err) }))
      .finally(() => {
        this.draining = null;
        if (this.queue.size > 0 && !this.abort.signal.aborted) this.kick();
      });
  }

  private async runCatchUp(): Promise<CatchUpReport> {
    const report: CatchUpReport = { listed: 0, read: 0, delivered: 0, pending: 0 };
    try {
      const [listings, marks] = await Promise.all([
        Promise.all(MODEL_FAMILIES.map((f) => this.opts.store.listObjects(`${f}/`))),
        this.watermarks.readOrEmpty(),
      ]);
      const before = { ...this.stats };
      for (const o of listings.flat()) {
        if (!recordDocumentOf(o.key)) continue;
        report.listed++;
        const mark = marks[o.key];
        if (mark?.etag && o.etag && mark.etag === o.etag) continue;
        this.queue.add(o.key);
      }
      this.kick();
      while (this.draining) await this.draining;
      report.read = this.stats.read - before.read;
      report.delivered = this.stats.delivered - before.delivered;
      report.pending = this.stats.pending - before.pending;
    } catch (err) {
      if (!this.abort.signal.aborted) this.warn('event catch-up failed; it runs again', { error: message(err) });
    }
    return report;
  }

  /** Takes every queued key and processes them: read, repair, deliver, advance the watermark. */
  private async drain(): Promise<void> {
    while (this.queue.size > 0 && !this.abort.signal.aborted) {
      const keys = [...this.queue.keys()];
      this.queue.clear();
      const marks = await this.watermarks.readOrEmpty();
      const read = await mapLimit(keys, this.opts.concurrency ?? 4, (key) =>
        this.read(key, marks[key]).catch((err) => {
          this.warn('a document of record could not be read; the next catch-up retries', {
            key,
            error: message(err),
          });
          return undefined;
        }),
      );
      const docs = read.filter((d): d is ReadDocument => d !== undefined);
      if (docs.length === 0) continue;
      const repaired = await this.repair(docs);
      const outcomes = await mapLimit(docs, this.opts.concurrency ?? 4, (doc) =>
        this.deliver(doc, repaired || doc.parsed.kind !== 'stage'),
      );
      const updates: Watermarks = {};
      for (const o of outcomes) {
        updates[o.key] = o.entry;
        this.stats.delivered += o.delivered;
        this.stats.pending += o.pending;
      }
      try {
        await this.watermarks.advance(updates);
      } catch (err) {
        this.warn('the events watermark could not be advanced; those events may be delivered again', {
          error: message(err),
        });
      }
    }
  }

  /** Re-reads a document and derives its events beyond `mark` (undefined: nothing to do). */
  private async read(key: string, mark: WatermarkEntry | undefined): Promise<ReadDocument | undefined> {
    const what = recordDocumentOf(key)!;
    const got = await this.opts.store.getIfExists(key);
    if (!got || (mark?.etag && mark.etag === got.etag)) return undefined;
    this.stats.read++;
    let raw: unknown;
    try {
      raw = JSON.parse(got.body.toString('utf8'));
    } catch {
      throw new Error(`${key} is not valid JSON`);
    }
    const parsed = parseRecordDocument(what, raw, key);
    const after = mark?.generation ?? 0;
    let archived: DeploymentRecord[] = [];
    if (parsed.kind === 'stage') {
      for (const chunkKey of archivesNeeded(parsed.pointer, after)) {
        const chunk = await this.opts.store.get(chunkKey);
        archived = archived.concat(ArchiveChunkSchema.parse(JSON.parse(chunk.body.toString('utf8'))));
      }
    }
    return { key, etag: got.etag, after, parsed, archived, events: eventsOfDocument(parsed, after, archived) };
  }

  /**
   * Brings model_registry.json and deployment_history.json up to the stage
   * pointers read (one compare-and-swap each, with the feed's idempotent
   * updates). Answers whether both are; if not, those pointers' watermarks stay.
   */
  private async repair(docs: ReadDocument[]): Promise<boolean> {
    const stages = docs.flatMap((d) => (d.parsed.kind === 'stage' ? [{ doc: d, pointer: d.parsed.pointer }] : []));
    if (stages.length === 0) return true;
    const results: DeploymentResult[] = stages.flatMap(({ pointer }) => {
      const latest = pointer.history.at(-1);
      return latest ? [{ record: latest, pointer }] : [];
    });
    const records = stages.flatMap(({ doc, pointer }) => [
      ...doc.archived.filter((r) => r.generation > doc.after),
      ...pointer.history.filter((r) => r.generation > doc.after),
    ]);
    const outcomes = await Promise.allSettled([
      updateModelRegistryMany(this.opts.registry, results),
      appendDeploymentHistoryMany(this.opts.store, records),
    ]);
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    for (const f of failed) {
      this.warn('a derived registry document could not be repaired; the next catch-up retries', {
        error: message(f.reason),
      });
    }
    if (outcomes.some((o) => o.status === 'fulfilled' && o.value)) {
      this.opts.onInfo?.('derived registry documents repaired from the stage pointers', {
        pointers: stages.map((s) => s.doc.key),
      });
    }
    return failed.length === 0;
  }

  /** Delivers a document's events in order to every target; answers its new watermark entry. */
  private async deliver(doc: ReadDocument, repaired: boolean): Promise<Outcome> {
    let delivered = doc.events.length;
    for (const target of this.opts.targets) {
      if (delivered === 0) break;
      delivered = Math.min(delivered, await this.sendWithRetries(target, doc.events.slice(0, delivered), doc.key));
    }
    const all = delivered === doc.events.length;
    const generation = delivered > 0 ? doc.events[delivered - 1].generation : doc.after;
    return {
      key: doc.key,
      // A stage pointer whose derived documents failed keeps its watermark: the repair runs again.
      entry: repaired
        ? { generation: all ? Math.max(generation, doc.parsed.generation) : generation, etag: all ? doc.etag : null }
        : { generation: doc.after, etag: null },
      delivered: repaired ? delivered : 0,
      pending: repaired ? doc.events.length - delivered : doc.events.length,
    };
  }

  /** Sends `events` to one target with bounded retries; answers how many (from the first) it accepted. */
  private async sendWithRetries(target: EventTarget, events: readonly ModelgraphEvent[], key: string): Promise<number> {
    const maxAttempts = this.opts.maxAttempts ?? 5;
    const base = this.opts.backoffBaseMs ?? 250;
    let done = 0;
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts && done < events.length; attempt++) {
      if (this.abort.signal.aborted) break;
      try {
        done += await target.send(events.slice(done), this.abort.signal);
        continue;
      } catch (err) {
        lastError = err;
      }
      if (attempt < maxAttempts)
        await sleep(Math.random() * Math.min(10_000, base * 2 ** (attempt - 1)), this.abort.signal);
    }
    if (done < events.length && !this.abort.signal.aborted) {
      this.warn('events were not delivered; the next catch-up sends them again', {
        target: target.name,
        key,
        undelivered: events.length - done,
        firstEventId: events[done].id,
        error: message(lastError),
      });
    }
    return done;
  }

  private warn(msg: string, details: Record<string, unknown>): void {
    this.opts.onWarning?.(msg, details);
  }
}

interface ReadDocument {
  key: string;
  etag: string;
  after: number;
  parsed: ParsedRecordDocument;
  archived: DeploymentRecord[];
  events: ModelgraphEvent[];
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * The deliverer a configuration asks for: a webhook when EVENTS_WEBHOOK_URL is
 * set (EVENTS_WEBHOOK_SECRET is then required), EventBridge when
 * EVENTS_BUS_NAME is set, both, or neither (the derived documents are still
 * repaired).
 */
export function createEventDelivery(
  config: Config,
  deps: Pick<EventDeliveryOptions, 'store' | 'registry' | 'onWarning' | 'onInfo'>,
): EventDelivery {
  const targets: EventTarget[] = [];
  if (config.EVENTS_WEBHOOK_URL) {
    if (!config.EVENTS_WEBHOOK_SECRET) {
      throw new Error('Invalid configuration:\n  EVENTS_WEBHOOK_SECRET: required when EVENTS_WEBHOOK_URL is set');
    }
    targets.push(
      webhookTarget({
        url: config.EVENTS_WEBHOOK_URL,
        secret: config.EVENTS_WEBHOOK_SECRET,
        timeoutMs: config.EVENTS_TIMEOUT_MS,
      }),
    );
  }
  if (config.EVENTS_BUS_NAME) {
    targets.push(
      eventBridgeTarget({
        busName: config.EVENTS_BUS_NAME,
        region: config.AWS_REGION,
        endpoint: config.EVENTBRIDGE_ENDPOINT,
        timeoutMs: config.EVENTS_TIMEOUT_MS,
      }),
    );
  }
  return new EventDelivery({ ...deps, targets, maxAttempts: config.EVENTS_MAX_ATTEMPTS });
}
