import * as z from 'zod';
import { BadUserInputError, ConflictError, locatedError, ModelgraphError } from '../errors';
import { NOT_MODIFIED, replacing, type ObjectStore } from '../storage/objectStore';
import { ObjectNotFoundError } from '../storage/errors';
import { PERFORMANCE_TRACKING_KEY } from './bucketLayout';
import { retryCompareAndSwap } from './compareAndSwap';
import { ModelIdSchema, modelTypeOf, parseArguments, TickerSchema, VersionSchema } from './identifiers';
import type { Registry, Versioned } from './registry';
import { parseJsonDocument, type VersionMetadata } from './versionMetadata';

/**
 * `metadata/performance_tracking.json`: realised accuracy per asset, model and
 * version, all-time and per UTC day, plus the ids of the last batches recorded
 * (idempotency). Unknown fields are kept at every level so fields other tools
 * write survive our read-modify-write.
 *
 *     { "assets": { "SPY": { "etfs/SPY": { "v1.1.0": {
 *         "total": { "predictions": 5, "correct": 3 },
 *         "daily": { "2026-11-27": { "predictions": 5, "correct": 3 } } } } } },
 *       "batches": ["agent-2026-11-27"], "last_updated": "2026-11-27T16:00:00.000Z" }
 */
const CountsSchema = z.looseObject({
  predictions: z.number().int().nonnegative(),
  correct: z.number().int().nonnegative(),
});
export type Counts = z.infer<typeof CountsSchema>;

const VersionPerformanceSchema = z.looseObject({
  total: CountsSchema.default({ predictions: 0, correct: 0 }),
  daily: z.record(z.string(), CountsSchema).default({}),
});

export const PerformanceDocumentSchema = z.looseObject({
  /** ticker → model id → version → counts. */
  assets: z.record(z.string(), z.record(z.string(), z.record(z.string(), VersionPerformanceSchema))).default({}),
  /** Ids of the last MAX_REMEMBERED_BATCHES batches recorded, oldest first. */
  batches: z.array(z.string()).default([]),
  last_updated: z.string().optional(),
});
export type PerformanceDocument = z.infer<typeof PerformanceDocumentSchema>;

export const MAX_OUTCOMES_PER_BATCH = 10_000;
export const MAX_REMEMBERED_BATCHES = 1_000;
/** How far in the future an outcome's `at` may be (clock skew between client and server). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;
export const EARLIEST_OUTCOME = new Date('2000-01-01T00:00:00.000Z');

export function parsePerformanceDocument(body: Buffer): PerformanceDocument {
  return parseJsonDocument(PerformanceDocumentSchema, body, PERFORMANCE_TRACKING_KEY);
}

const emptyDocument = (): PerformanceDocument => ({ assets: {}, batches: [] });

export const BatchIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:\-]{1,128}$/, 'a batch id is 1–128 letters, digits, ".", "_", ":" or "-"');

const LabelSchema = z.string().min(1).max(128);

const OutcomeInputSchema = z.object({
  ticker: TickerSchema,
  model: ModelIdSchema.nullish(),
  version: VersionSchema,
  predicted: LabelSchema,
  realized: LabelSchema,
  /** A Date (the GraphQL DateTime scalar parses to one) or an ISO-8601 string. */
  at: z.union([z.date(), z.string().max(64)]).nullish(),
});

/** One validated outcome: every identifier parsed, the version exists and knows both labels. */
export interface Outcome {
  ticker: string;
  model: string;
  version: string;
  predicted: string;
  realized: string;
  at: Date;
}

export interface OutcomeBatchRequest {
  batchId: string;
  outcomes: Outcome[];
}

/**
 * Parses and checks a whole batch before anything is written: batch id, size,
 * each outcome's ticker (syntax, then a registered asset: UNKNOWN_ASSET), model
 * (default: the model that serves the ticker now), version (syntax, then
 * existence: VERSION_NOT_FOUND), labels (the version's strategies) and time.
 * Every error names the offending `outcomes[i]`.
 */
export async function validateOutcomeBatch(
  registry: Registry,
  raw: { batchId: unknown; outcomes: unknown },
  now: Date = new Date(),
): Promise<OutcomeBatchRequest> {
  const batchId = parseArguments(BatchIdSchema, raw.batchId, 'batchId');
  if (!Array.isArray(raw.outcomes) || raw.outcomes.length === 0 || raw.outcomes.length > MAX_OUTCOMES_PER_BATCH) {
    const n = Array.isArray(raw.outcomes) ? raw.outcomes.length : 0;
    throw new BadUserInputError(
      `A batch holds 1 to ${MAX_OUTCOMES_PER_BATCH.toLocaleString('en')} outcomes, not ${n}; split it into several batches`,
      {
        argument: 'outcomes',
        maxOutcomes: MAX_OUTCOMES_PER_BATCH,
      },
    );
  }
  const latest = now.getTime() + MAX_FUTURE_SKEW_MS;
  const metadata = new Map<string, Promise<VersionMetadata>>();
  const outcomes: Outcome[] = [];
  for (const [i, item] of raw.outcomes.entries()) {
    const where = `outcomes[${i}]`;
    const o = parseArguments(OutcomeInputSchema, item, where);
    const at = o.at == null ? now : new Date(o.at);
    if (Number.isNaN(at.getTime()))
      throw new BadUserInputError(`Invalid ${where}.at: not a date-time`, { argument: `${where}.at` });
    if (at.getTime() < EARLIEST_OUTCOME.getTime() || at.getTime() > latest) {
      throw new BadUserInputError(
        `Invalid ${where}.at ${at.toISOString()}: an outcome is realised after 2000-01-01 and at most 5 minutes in the future`,
        {
          argument: `${where}.at`,
        },
      );
    }
    const asset = await atIndex(where, 'ticker', () => registry.resolveTicker(o.ticker));
    const model = o.model ?? asset.modelId;
    const key = `${model}@${o.version}`;
    if (!metadata.has(key)) metadata.set(key, registry.versionMetadata(model, o.version));
    const { strategies } = await atIndex(where, 'version', () => metadata.get(key)!);
    if (!strategies) {
      throw new BadUserInputError(
        `Invalid ${where}.version: ${key} has no class labels (a regressor); outcomes are recorded for classifiers`,
        {
          argument: `${where}.version`,
        },
      );
    }
    for (const field of ['predicted', 'realized'] as const) {
      if (!strategies.includes(o[field])) {
        throw new BadUserInputError(
          `Invalid ${where}.${field}: "${o[field]}" is not a label of ${key} (labels: ${strategies.join(', ')})`,
          {
            argument: `${where}.${field}`,
          },
        );
      }
    }
    outcomes.push({ ticker: o.ticker, model, version: o.version, predicted: o.predicted, realized: o.realized, at });
  }
  return { batchId, outcomes };
}

/** A typed error of the registry (UNKNOWN_ASSET, VERSION_NOT_FOUND…), with the outcome it is about. */
async function atIndex<T>(where: string, field: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof ModelgraphError) || err.code === 'STORAGE_UNAVAILABLE') throw err;
    throw locatedError(err, where, { argument: `${where}.${field}` });
  }
}

/**
 * The document with a batch added (pure; the input is not modified): each
 * outcome counts once in its version's total and in the UTC day of `at`; the
 * batch id joins the remembered ids (the oldest beyond MAX_REMEMBERED_BATCHES
 * are forgotten). Unknown fields are kept.
 */
export function applyOutcomes(doc: PerformanceDocument, batch: OutcomeBatchRequest, now: Date): PerformanceDocument {
  const next: PerformanceDocument = structuredClone(doc);
  for (const o of batch.outcomes) {
    const models = (next.assets[o.ticker] ??= {});
    const versions = (models[o.model] ??= {});
    const entry = (versions[o.version] ??= { total: { predictions: 0, correct: 0 }, daily: {} });
    const day = (entry.daily[utcDate(o.at)] ??= { predictions: 0, correct: 0 });
    const hit = o.predicted === o.realized ? 1 : 0;
    entry.total.predictions += 1;
    entry.total.correct += hit;
    day.predictions += 1;
    day.correct += hit;
  }
  next.batches = [...next.batches.filter((id) => id !== batch.batchId), batch.batchId].slice(-MAX_REMEMBERED_BATCHES);
  next.last_updated = now.toISOString();
  return next;
}

const utcDate = (d: Date): string => d.toISOString().slice(0, 10);

// ---------------------------------------------------------------------------
// Reading, with a process-wide copy revalidated by ETag (304 costs no body).

const lastSeen = new WeakMap<ObjectStore, Versioned<PerformanceDocument>>();

/**
 * The stored document and its ETag (null when there is none). A copy this
 * process read or wrote is revalidated with If-None-Match, so an unchanged
 * document is neither transferred nor parsed again. Returned values are shared:
 * never modify them.
 */
export async function readPerformance(store: ObjectStore): Promise<Versioned<PerformanceDocument> | null> {
  const seen = lastSeen.get(store);
  let got: Awaited<ReturnType<ObjectStore['getIfChanged']>>;
  try {
    got = await store.getIfChanged(PERFORMANCE_TRACKING_KEY, seen?.etag);
  } catch (err) {
    if (!(err instanceof ObjectNotFoundError)) throw err;
    lastSeen.delete(store);
    return null;
  }
  if (got === NOT_MODIFIED) return seen!;
  const fresh = { value: parsePerformanceDocument(got.body), etag: got.etag };
  lastSeen.set(store, fresh);
  return fresh;
}

/** The stored document, or an empty one when there is none (`{}` reads as empty too). */
export async function readPerformanceDocument(store: ObjectStore): Promise<PerformanceDocument> {
  return (await readPerformance(store))?.value ?? emptyDocument();
}

// ---------------------------------------------------------------------------
// Writing.

export interface RecordOutcomesOptions {
  /** Read-modify-write attempts before giving up with CONFLICT (default 10). */
  maxAttempts?: number;
  now?: () => Date;
}

export interface RecordOutcomesResult {
  batchId: string;
  /** The batch id had been recorded before: nothing was counted. */
  duplicate: boolean;
  /** Outcomes counted by this call (0 for a duplicate). */
  recorded: number;
  /** Of those, the correct ones. */
  correct: number;
  /** The series the batch's outcomes belong to, as stored after the call. */
  series: PerformanceSeries[];
  /** Conditional writes it took (0 for a duplicate, 1 without contention). */
  attempts: number;
}

/**
 * Records a validated batch without losing a concurrent one: read the document
 * with its ETag, add the batch, PutObject If-Match that ETag (If-None-Match: *
 * when there is no document yet); on 412 re-read and re-apply, with jittered
 * backoff, at most `maxAttempts` times, then CONFLICT. A batch id found in the
 * document is a retry: nothing is written and the answer says `duplicate`.
 */
export async function recordOutcomes(
  registry: Registry,
  batch: OutcomeBatchRequest,
  opts: RecordOutcomesOptions = {},
): Promise<RecordOutcomesResult> {
  const maxAttempts = opts.maxAttempts ?? 10;
  const store = registry.store;
  const touched = touchedSeries(batch.outcomes);
  return retryCompareAndSwap(
    maxAttempts,
    async (attempt) => {
      const current = await readPerformance(store);
      const doc = current?.value ?? emptyDocument();
      if (doc.batches.includes(batch.batchId)) {
        return {
          batchId: batch.batchId,
          duplicate: true,
          recorded: 0,
          correct: 0,
          series: seriesOf(doc, touched),
          attempts: 0,
        };
      }
      const next = applyOutcomes(doc, batch, (opts.now ?? (() => new Date()))());
      const body = JSON.stringify(next, null, 2);
      const { etag } = await store.put(PERFORMANCE_TRACKING_KEY, body, {
        contentType: 'application/json',
        ...replacing(current?.etag),
      });
      const written = parsePerformanceDocument(Buffer.from(body));
      lastSeen.set(store, { value: written, etag });
      return {
        batchId: batch.batchId,
        duplicate: false,
        recorded: batch.outcomes.length,
        correct: batch.outcomes.filter((o) => o.predicted === o.realized).length,
        series: seriesOf(written, touched),
        attempts: attempt,
      };
    },
    () => {
      lastSeen.delete(store);
      return new ConflictError(
        `${PERFORMANCE_TRACKING_KEY} kept changing while batch ${batch.batchId} was being recorded (${maxAttempts} attempts); nothing was counted by this call — retry with the same batchId`,
        { batchId: batch.batchId },
      );
    },
  );
}

interface SeriesKey {
  ticker: string;
  model: string;
  version: string;
}

function touchedSeries(outcomes: Outcome[]): SeriesKey[] {
  const keys = new Map<string, SeriesKey>();
  for (const o of outcomes)
    keys.set(`${o.ticker}|${o.model}|${o.version}`, { ticker: o.ticker, model: o.model, version: o.version });
  return [...keys.values()].sort(compareSeries);
}

function seriesOf(doc: PerformanceDocument, keys: SeriesKey[]): PerformanceSeries[] {
  return keys.flatMap((k) => listSeries(doc, { ticker: k.ticker, model: k.model, version: k.version }));
}

// ---------------------------------------------------------------------------
// Series.

export interface AccuracyCounts {
  predictions: number;
  correct: number;
  /** correct / predictions; null without predictions. */
  accuracy: number | null;
}

export interface DailyAccuracy extends AccuracyCounts {
  /** UTC date, YYYY-MM-DD. */
  date: string;
}

export interface PerformanceSeries {
  ticker: string;
  model: string;
  version: string;
  /** All-time counts. */
  total: AccuracyCounts;
  /** Sums of `daily`. */
  period: AccuracyCounts;
  /** Days within the filter, oldest first. */
  daily: DailyAccuracy[];
}

export interface SeriesFilter {
  ticker: string;
  model?: string | null;
  version?: string | null;
  /** Only days on or after this instant's UTC date. */
  from?: Date | null;
  /** Only days on or before this instant's UTC date. */
  to?: Date | null;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function accuracyOf(c: { predictions: number; correct: number }): AccuracyCounts {
  return {
    predictions: c.predictions,
    correct: c.correct,
    accuracy: c.predictions > 0 ? c.correct / c.predictions : null,
  };
}

/**
 * One series per (model, version) of a ticker, ordered by model id then
 * version (numeric-aware). Entries another tool wrote under something that is
 * not a model id, and day keys that are not `YYYY-MM-DD`, are skipped.
 */
export function listSeries(doc: PerformanceDocument, filter: SeriesFilter): PerformanceSeries[] {
  const from = filter.from ? utcDate(filter.from) : undefined;
  const to = filter.to ? utcDate(filter.to) : undefined;
  const out: PerformanceSeries[] = [];
  for (const [model, versions] of Object.entries(doc.assets[filter.ticker] ?? {})) {
    if (!modelTypeOf(model) || (filter.model && model !== filter.model)) continue;
    for (const [version, entry] of Object.entries(versions)) {
      if (filter.version && version !== filter.version) continue;
      const daily = Object.entries(entry.daily)
        .filter(([date]) => DAY.test(date) && (!from || date >= from) && (!to || date <= to))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([date, c]) => ({ date, ...accuracyOf(c) }));
      const period = daily.reduce(
        (s, d) => ({ predictions: s.predictions + d.predictions, correct: s.correct + d.correct }),
        { predictions: 0, correct: 0 },
      );
      out.push({
        ticker: filter.ticker,
        model,
        version,
        total: accuracyOf(entry.total),
        period: accuracyOf(period),
        daily,
      });
    }
  }
  return out.sort(compareSeries);
}

function compareSeries(a: SeriesKey, b: SeriesKey): number {
  return (
    a.ticker.localeCompare(b.ticker, 'en') ||
    a.model.localeCompare(b.model, 'en') ||
    a.version.localeCompare(b.version, 'en', { numeric: true })
  );
}

/** Whether the document holds any outcome of this ticker (even if the asset is no longer registered). */
export function hasOutcomesFor(doc: PerformanceDocument, ticker: string): boolean {
  return Object.keys(doc.assets[ticker] ?? {}).length > 0;
}

/** A version's all-time counts summed over every asset. */
export function versionTotals(doc: PerformanceDocument, model: string, version: string): AccuracyCounts {
  let predictions = 0;
  let correct = 0;
  for (const models of Object.values(doc.assets)) {
    const total = models[model]?.[version]?.total;
    if (!total) continue;
    predictions += total.predictions;
    correct += total.correct;
  }
  return accuracyOf({ predictions, correct });
}

/** A version's realised accuracy per UTC day, summed over every asset, oldest first. */
export function versionDaily(doc: PerformanceDocument, model: string, version: string): DailyAccuracy[] {
  const days = new Map<string, { predictions: number; correct: number }>();
  for (const models of Object.values(doc.assets)) {
    for (const [date, c] of Object.entries(models[model]?.[version]?.daily ?? {})) {
      if (!DAY.test(date)) continue;
      const d = days.get(date) ?? { predictions: 0, correct: 0 };
      d.predictions += c.predictions;
      d.correct += c.correct;
      days.set(date, d);
    }
  }
  return [...days.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([date, c]) => ({ date, ...accuracyOf(c) }));
}
