import * as z from 'zod';
import { EVENTS_WATERMARK_KEY } from '../registry/bucketLayout';
import { retryCompareAndSwap } from '../registry/compareAndSwap';
import { ObjectNotFoundError } from '../storage/errors';
import { NOT_MODIFIED, replacing, type ObjectStore } from '../storage/objectStore';

/**
 * `metadata/events/watermark.json`: per document of record, the highest
 * generation whose events were delivered (and whose derived documents were
 * repaired), and the document's ETag when ALL of its records were — so a
 * catch-up GETs only documents whose listing ETag differs. Shared by every
 * process; updated with compare-and-swap and merged monotonically (a
 * generation never goes down), so concurrent deliverers never undo each
 * other. A lost update costs at most a duplicate delivery (at least once).
 */
export const WatermarkEntrySchema = z.object({
  generation: z.number().int().min(0),
  /** The ETag of the document whose every record was processed; null while some are not. */
  etag: z.string().nullable(),
});
export type WatermarkEntry = z.infer<typeof WatermarkEntrySchema>;

const WatermarkDocumentSchema = z.looseObject({
  documents: z.record(z.string(), WatermarkEntrySchema),
  updated_at: z.string().optional(),
});
export type WatermarkDocument = z.infer<typeof WatermarkDocumentSchema>;

export type Watermarks = Record<string, WatermarkEntry>;

/** The greater of two entries: the higher generation; on a tie, the one that knows the document's ETag. */
export function newerEntry(a: WatermarkEntry | undefined, b: WatermarkEntry | undefined): WatermarkEntry | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.generation !== b.generation) return a.generation > b.generation ? a : b;
  return a.etag ? a : b;
}

/** `base` with `updates` merged in monotonically (pure); null when nothing changes. */
export function mergeWatermarks(base: Watermarks, updates: Watermarks): Watermarks | null {
  let changed = false;
  const next: Watermarks = { ...base };
  for (const [key, entry] of Object.entries(updates)) {
    const merged = newerEntry(base[key], entry)!;
    if (merged !== base[key] && (merged.generation !== base[key]?.generation || merged.etag !== base[key]?.etag)) {
      next[key] = merged;
      changed = true;
    }
  }
  return changed ? next : null;
}

function parse(body: Buffer): Watermarks {
  try {
    const doc = WatermarkDocumentSchema.safeParse(JSON.parse(body.toString('utf8')));
    return doc.success ? doc.data.documents : {};
  } catch {
    return {}; // unreadable: rebuilt (worst case: events delivered again, at least once)
  }
}

/** The watermark document of a bucket, cached in memory and revalidated with If-None-Match. */
export class WatermarkStore {
  private cached: { etag: string; marks: Watermarks } | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly opts: { maxAttempts?: number; now?: () => Date } = {},
  ) {}

  /** The stored watermarks (one GET, or a 304 when unchanged since the last read). */
  async read(): Promise<Watermarks> {
    // A missing document reads as ObjectNotFoundError (read() callers that want {} use readOrEmpty()).
    const got = await this.store.getIfChanged(EVENTS_WATERMARK_KEY, this.cached?.etag);
    if (got === NOT_MODIFIED) return this.cached!.marks;
    this.cached = { etag: got.etag, marks: parse(got.body) };
    return this.cached.marks;
  }

  /** The stored watermarks; none when the document does not exist yet. */
  async readOrEmpty(): Promise<Watermarks> {
    return (await this.readForUpdate()).marks;
  }

  private async readForUpdate(): Promise<{ etag?: string; marks: Watermarks }> {
    try {
      const marks = await this.read();
      return { marks, etag: this.cached!.etag };
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
      this.cached = undefined;
      return { marks: {} };
    }
  }

  /** Merges `updates` into the stored document (compare-and-swap, monotonic). Answers the merged watermarks. */
  async advance(updates: Watermarks): Promise<Watermarks> {
    const maxAttempts = this.opts.maxAttempts ?? 12;
    return retryCompareAndSwap(
      maxAttempts,
      async () => {
        const current = await this.readForUpdate();
        const next = mergeWatermarks(current.marks, updates);
        if (!next) return current.marks;
        const doc: WatermarkDocument = {
          documents: next,
          updated_at: (this.opts.now ?? (() => new Date()))().toISOString(),
        };
        const { etag } = await this.store.put(EVENTS_WATERMARK_KEY, JSON.stringify(doc), {
          contentType: 'application/json',
          ...replacing(current.etag),
        });
        this.cached = { etag, marks: next };
        return next;
      },
      () => new Error(`${EVENTS_WATERMARK_KEY} kept changing (${maxAttempts} attempts); it was not advanced`),
    );
  }
}
