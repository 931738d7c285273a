import { randomBytes } from 'node:crypto';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
  utimes,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../storage/checksum';
import type { ArtifactDiskCache, PreparedWrite } from './artifactSource';

export interface DiskCacheOptions {
  /** Directory of the cache (created on first write; Lambda: /tmp/modelgraph-cache). */
  dir: string;
  /** Upper bound on the summed size of the cached files, in bytes. */
  maxBytes: number;
  /**
   * Told about anything that went wrong and was swallowed (disk full, unwritable
   * directory, a corrupt entry). Details are codes and hashes, never bytes.
   */
  onWarning?: (message: string, details: Record<string, unknown>) => void;
}

export interface DiskCacheCounters {
  hits: number;
  misses: number;
  writes: number;
  writeFailures: number;
  /** Entries whose bytes no longer matched their name: deleted, never served. */
  corruptDropped: number;
  evictions: number;
}

/** A temp file opened ahead of its bytes (see DiskArtifactCache.prepare). */
interface TempFile {
  path: string;
  handle: Promise<FileHandle>;
}

interface Entry {
  size: number;
  /** Last use (ms since epoch): the file's mtime, bumped on every hit. */
  usedAt: number;
}

const ENTRY_NAME = /^[0-9a-f]{64}$/;
const TEMP_PREFIX = '.tmp-';
/** A temp file this old is a leftover of a crashed writer, not a write in progress. */
const STALE_TEMP_MS = 10 * 60_000;

/**
 * The second cache level for version artifacts (Lambda's /tmp survives warm
 * invocations and, for a while, re-used execution environments).
 *
 * - Content-addressed: a file's name is the sha256 (hex) of its bytes. Names
 *   never come from keys, so nothing a client sends can steer a path.
 * - Atomic: bytes go to a temp file that is renamed into place; a reader never
 *   sees a half-written entry, and concurrent writers of one hash are harmless.
 * - Verified on read: bytes whose sha256 or size differ from the name are
 *   deleted and reported as a miss, so the caller fetches from S3 again.
 * - Bounded: least-recently-used entries (by mtime, bumped on every hit) are
 *   evicted to keep the total under `maxBytes`. The index is rebuilt by scanning
 *   the directory, so a restarted process keeps the order.
 * - Never fails a request: I/O errors (missing directory, ENOSPC, ENOTDIR,
 *   EACCES) are swallowed and reported through `onWarning`.
 */
export class DiskArtifactCache implements ArtifactDiskCache {
  readonly counters: DiskCacheCounters = {
    hits: 0,
    misses: 0,
    writes: 0,
    writeFailures: 0,
    corruptDropped: 0,
    evictions: 0,
  };
  private index: Map<string, Entry> | undefined;
  private scanning: Promise<Map<string, Entry>> | undefined;
  private readonly writing = new Map<string, Promise<void>>();
  /** Writes run one at a time, so eviction sees every entry it has to make room next to. */
  private writeQueue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: DiskCacheOptions) {}

  get dir(): string {
    return this.opts.dir;
  }

  /** Summed size of the entries this process knows of. */
  get totalBytes(): number {
    let total = 0;
    for (const e of this.index?.values() ?? []) total += e.size;
    return total;
  }

  async read(hash: string, size: number): Promise<Buffer | undefined> {
    if (!ENTRY_NAME.test(hash)) return undefined;
    const index = await this.loadIndex();
    const file = join(this.opts.dir, hash);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      index.delete(hash);
      this.counters.misses++;
      if (errorCode(err) !== 'ENOENT' && errorCode(err) !== 'ENOTDIR')
        this.warn('disk cache read failed', { sha256: hash, code: errorCode(err) });
      return undefined;
    }
    if (bytes.byteLength !== size || sha256(bytes) !== hash) {
      this.counters.corruptDropped++;
      this.counters.misses++;
      index.delete(hash);
      await unlink(file).catch(() => undefined);
      this.warn('disk cache entry did not match its sha256; dropped', {
        sha256: hash,
        expectedSize: size,
        actualSize: bytes.byteLength,
      });
      return undefined;
    }
    this.counters.hits++;
    this.touch(hash, bytes.byteLength);
    return bytes;
  }

  /**
   * Readies the entry for bytes that are still downloading: creates the directory and
   * opens a temp file now, so that `commit` hands the bytes to the disk in one write
   * issued at once, which runs (in libuv's thread pool) while the caller creates the
   * onnxruntime session. Written in 512 KiB steps after the bytes arrive instead
   * (fs.promises.writeFile), a 30 MB model waited for the session to be created
   * (onnxruntime blocks the event loop) and then delayed the first answer by ≈ 60 ms.
   * Undefined when the entry would not be stored anyway. Never throws; the caller
   * must call `commit` or `abandon`.
   */
  prepare(hash: string, size: number): PreparedWrite | undefined {
    if (!ENTRY_NAME.test(hash) || size > this.opts.maxBytes || this.writing.has(hash)) return undefined;
    const path = this.tempPath(hash);
    const handle = mkdir(this.opts.dir, { recursive: true }).then(() => open(path, 'wx'));
    handle.catch(() => undefined); // a failure is reported by commit (as a write failure), or ignored on abandon
    const temp: TempFile = { path, handle };
    let settled = false;
    return {
      commit: (bytes) => {
        if (settled) return Promise.resolve();
        settled = true;
        return this.writeEntry(hash, bytes, temp);
      },
      abandon: () => {
        if (settled) return;
        settled = true;
        void discard(temp);
      },
    };
  }

  /** Stores bytes the caller has already verified against `hash`. Never throws. */
  write(hash: string, bytes: Buffer): Promise<void> {
    return this.writeEntry(hash, bytes);
  }

  /** `write`, into the prepared `temp` file when there is one. */
  private async writeEntry(hash: string, bytes: Buffer, temp?: TempFile): Promise<void> {
    if (!ENTRY_NAME.test(hash) || bytes.byteLength > this.opts.maxBytes) {
      if (temp) await discard(temp);
      return;
    }
    const pending = this.writing.get(hash);
    if (pending) {
      if (temp) await discard(temp);
      return pending;
    }
    // Into the prepared temp file at once, outside the queue; the queue orders only what
    // must see every entry (eviction, rename into place, the index).
    const written = temp ? writeInto(temp, bytes) : undefined;
    written?.catch(() => undefined);
    const work = this.writeQueue
      .then(() => this.store(hash, bytes, temp && written ? { path: temp.path, written } : undefined))
      .finally(() => this.writing.delete(hash));
    this.writing.set(hash, work);
    this.writeQueue = work.catch(() => undefined);
    return work;
  }

  private tempPath(hash: string): string {
    return join(this.opts.dir, `${TEMP_PREFIX}${hash}-${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  private async store(hash: string, bytes: Buffer, prepared?: { path: string; written: Promise<void> }): Promise<void> {
    const index = await this.loadIndex();
    if (index.has(hash)) {
      if (prepared) {
        await prepared.written.catch(() => undefined);
        await unlink(prepared.path).catch(() => undefined);
      }
      this.touch(hash, bytes.byteLength);
      return;
    }
    await this.evictFor(index, bytes.byteLength);
    const temp = prepared?.path ?? this.tempPath(hash);
    try {
      if (prepared) await prepared.written;
      else {
        await mkdir(this.opts.dir, { recursive: true });
        await writeFile(temp, bytes, { flag: 'wx' });
      }
      await rename(temp, join(this.opts.dir, hash));
    } catch (err) {
      this.counters.writeFailures++;
      await unlink(temp).catch(() => undefined);
      this.warn('disk cache write failed; continuing without it', {
        sha256: hash,
        bytes: bytes.byteLength,
        code: errorCode(err),
      });
      return;
    }
    this.counters.writes++;
    index.set(hash, { size: bytes.byteLength, usedAt: Date.now() });
  }

  /** Deletes least-recently-used entries until `incoming` more bytes fit under the bound. */
  private async evictFor(index: Map<string, Entry>, incoming: number): Promise<void> {
    let total = 0;
    for (const e of index.values()) total += e.size;
    if (total + incoming <= this.opts.maxBytes) return;
    const oldestFirst = [...index].sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [hash, entry] of oldestFirst) {
      if (total + incoming <= this.opts.maxBytes) break;
      index.delete(hash);
      total -= entry.size;
      this.counters.evictions++;
      await unlink(join(this.opts.dir, hash)).catch(() => undefined);
    }
  }

  /** Marks an entry used: in memory now, on disk (mtime) for the next process. */
  private touch(hash: string, size: number): void {
    const now = Date.now();
    this.index?.set(hash, { size, usedAt: now });
    const when = new Date(now);
    utimes(join(this.opts.dir, hash), when, when).catch(() => undefined);
  }

  /** The index, built once per process from the directory (a missing directory is an empty cache). */
  private loadIndex(): Promise<Map<string, Entry>> {
    if (this.index) return Promise.resolve(this.index);
    this.scanning ??= this.scan().then((index) => (this.index = index));
    return this.scanning;
  }

  private async scan(): Promise<Map<string, Entry>> {
    const index = new Map<string, Entry>();
    let names: string[];
    try {
      names = await readdir(this.opts.dir);
    } catch (err) {
      const code = errorCode(err);
      if (code !== 'ENOENT') this.warn('disk cache directory is not readable', { dir: this.opts.dir, code });
      return index;
    }
    const now = Date.now();
    await Promise.all(
      names.map(async (name) => {
        const file = join(this.opts.dir, name);
        const info = await stat(file).catch(() => undefined);
        if (!info?.isFile()) return;
        if (ENTRY_NAME.test(name)) index.set(name, { size: info.size, usedAt: info.mtimeMs });
        else if (name.startsWith(TEMP_PREFIX) && now - info.mtimeMs > STALE_TEMP_MS)
          await unlink(file).catch(() => undefined);
      }),
    );
    return index;
  }

  private warn(message: string, details: Record<string, unknown>): void {
    try {
      this.opts.onWarning?.(message, { dir: this.opts.dir, ...details });
    } catch {
      // A failing logger must not fail the request either.
    }
  }
}

/** All of `bytes` into the prepared temp file (one write request, more only if the kernel writes less), then closed. */
async function writeInto(temp: TempFile, bytes: Buffer): Promise<void> {
  const handle = await temp.handle;
  try {
    let offset = 0;
    while (offset < bytes.byteLength) {
      const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
      offset += bytesWritten;
    }
  } finally {
    await handle.close();
  }
}

/** Closes and deletes a prepared temp file that will not be used. */
async function discard(temp: TempFile): Promise<void> {
  const handle = await temp.handle.catch(() => undefined);
  await handle?.close().catch(() => undefined);
  if (handle) await unlink(temp.path).catch(() => undefined);
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
}
