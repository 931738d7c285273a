/**
 * Fair (FIFO) reader/writer locks keyed by name, used by the embedded S3 front
 * server to make s3rver's in-place file writes look atomic:
 *  - every write of a key (PUT, copy destination, complete-multipart, DELETE)
 *    takes the key's lock exclusively, so "check precondition → write" is one
 *    step and concurrent readers never see a half-written object;
 *  - reads (GET/HEAD) take it shared for as long as the body is streaming.
 */
import type { IncomingHttpHeaders } from 'node:http';

import { UnreachableCaseError } from '../../unreachable';
import { parseCopySource, parseDeleteObjects, type S3Operation, type S3Target } from './s3Protocol';

export type Release = () => void;

/** One lock an operation wants: shared (readers) or exclusive (writers). */
export interface LockRequest {
  name: string;
  exclusive: boolean;
}

interface Waiter {
  exclusive: boolean;
  grant: () => void;
}

class RwLock {
  private readers = 0;
  private writer = false;
  private readonly queue: Waiter[] = [];

  get idle(): boolean {
    return !this.writer && this.readers === 0 && this.queue.length === 0;
  }

  acquire(exclusive: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      this.queue.push({ exclusive, grant: resolve });
      this.drain();
    });
  }

  release(exclusive: boolean): void {
    if (exclusive) this.writer = false;
    else this.readers--;
    this.drain();
  }

  private drain(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (next.exclusive) {
        if (this.writer || this.readers > 0) return;
        this.queue.shift();
        this.writer = true;
        next.grant();
        return;
      }
      if (this.writer) return;
      this.queue.shift();
      this.readers++;
      next.grant();
    }
  }
}

export class LockTable {
  private readonly locks = new Map<string, RwLock>();

  /** Acquires one lock. The returned release function is idempotent. */
  async acquire(name: string, exclusive: boolean): Promise<Release> {
    let lock = this.locks.get(name);
    if (!lock) {
      lock = new RwLock();
      this.locks.set(name, lock);
    }
    await lock.acquire(exclusive);
    let released = false;
    const held = lock;
    return () => {
      if (released) return;
      released = true;
      held.release(exclusive);
      if (held.idle && this.locks.get(name) === held) this.locks.delete(name);
    };
  }

  /**
   * Acquires several locks in a global order (sorted by name, exclusive wins
   * over shared for the same name) so that two multi-lock holders can never
   * deadlock. Returns one release function for all of them.
   */
  async acquireAll(wanted: Array<{ name: string; exclusive: boolean }>): Promise<Release> {
    const merged = new Map<string, boolean>();
    for (const w of wanted) merged.set(w.name, (merged.get(w.name) ?? false) || w.exclusive);
    const ordered = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const releases: Release[] = [];
    for (const [name, exclusive] of ordered) releases.push(await this.acquire(name, exclusive));
    return () => {
      for (const r of releases.reverse()) r();
    };
  }

  /** Number of names currently locked or waited on (for tests / diagnostics). */
  get size(): number {
    return this.locks.size;
  }
}

const keyLock = (bucket: string, key: string, exclusive: boolean): LockRequest => ({
  name: `k:${bucket}\u0000${key}`,
  exclusive,
});

/**
 * The locks an S3 operation holds while the front checks its preconditions and
 * s3rver runs it. Creating files and removing emptied directories (DELETE) in
 * s3rver's store race across keys of one bucket, so writers share the bucket's
 * lock and deletes take it alone. `body` is only read for DeleteObjects.
 */
export function locksFor(op: S3Operation, t: S3Target, headers: IncomingHttpHeaders, body: Buffer): LockRequest[] {
  const bucketLock = (bucket: string, exclusive: boolean): LockRequest => ({ name: `b:${bucket}`, exclusive });
  switch (op) {
    case 'GetObject':
    case 'HeadObject':
      return [keyLock(t.bucket, t.key, false)];
    case 'PutObject':
    case 'CompleteMultipartUpload':
      return [bucketLock(t.bucket, false), keyLock(t.bucket, t.key, true)];
    case 'CopyObject': {
      const wanted = [bucketLock(t.bucket, false), keyLock(t.bucket, t.key, true)];
      const src = parseCopySource(String(headers['x-amz-copy-source']));
      if (src) {
        if (src.bucket !== t.bucket) wanted.push(bucketLock(src.bucket, false));
        wanted.push(keyLock(src.bucket, src.key, false));
      }
      return wanted;
    }
    case 'DeleteObject':
      return [bucketLock(t.bucket, true), keyLock(t.bucket, t.key, true)];
    case 'DeleteObjects': {
      const objects = parseDeleteObjects(body.toString('utf8'))?.objects ?? [];
      return [bucketLock(t.bucket, true), ...objects.map((o) => keyLock(t.bucket, o.key, true))];
    }
    case 'UploadPart': // a part is invisible until CompleteMultipartUpload, which locks the key
    case 'Other':
      return [];
    default:
      throw new UnreachableCaseError(op);
  }
}
