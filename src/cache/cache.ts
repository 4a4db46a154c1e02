import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Database } from 'lmdb';
import type { Logger } from 'pino';
import type { ImageRecord } from '../images/record.js';
import { ingest } from '../data/ingest.js';
import type { StoreWriter } from '../stores/types.js';
import { isUuid } from '../util/uuid.js';
import { Fill } from './fill.js';

export interface CacheOptions {
  dir: string;
  maxSize: number;
  hardMaxSize: number;
  stallTimeSec: number;
  prefetchWorkers: number;
  hashAlgo: string;
  hashInWorkers: boolean;
}

export interface CacheEntry {
  id: string;
  size: number;
  hits: number;
  lastAccessed: number; // ms since epoch
  lastModified: number;
}

/** An open view of a cached (or filling) image. `available` is set while the fill is still running. */
export interface CacheRead {
  fd: number;
  size: number;
  available?: (pos: number) => Promise<number>;
  close(): Promise<void>;
}

/** Opens the image's bytes at their origin (a store, or the upstream's /file). */
export type OpenSource = () => Promise<Readable>;

/** The cached bytes failed verification against the image's checksums: they are never served as cached. */
export class CacheVerifyError extends Error {}

const INLINE_HASH_MAX = 8 << 20;

/**
 * The per-node image cache: complete images as `<dir>/<id>`, fills in progress as `<dir>/incomplete/<id>`.
 * One fill per image however many readers come (coalescing); readers stream from the partial file as it grows.
 * A fill becomes a cache entry only after its md5/os_hash/xxh3 match the image record. Least recently used
 * entries are evicted to stay under max size; entries being read and fills in progress are never evicted.
 */
export class ImageCache {
  private fills = new Map<string, Fill>();
  private starting = new Map<string, Promise<Fill | null>>();
  private readers = new Map<string, number>();
  private queued: string[] = [];
  private prefetching = 0;
  private prefetchSource: ((id: string) => Promise<{ img: ImageRecord; source: OpenSource } | null>) | null = null;

  constructor(
    private readonly o: CacheOptions,
    private readonly db: Database<CacheEntry, string>,
    private readonly log: Logger,
  ) {}

  private get incompleteDir() {
    return path.join(this.o.dir, 'incomplete');
  }
  private completePath(id: string) {
    return path.join(this.o.dir, id);
  }

  /** Removes what a crash left behind and reconciles the index with the files. */
  async init(): Promise<void> {
    await fsp.mkdir(this.incompleteDir, { recursive: true });
    for (const name of await fsp.readdir(this.incompleteDir)) {
      await fsp.rm(path.join(this.incompleteDir, name), { force: true });
      this.log.warn({ image: name }, 'removed an incomplete cache fill left by the last stop');
    }
    const files = new Set((await fsp.readdir(this.o.dir)).filter(isUuid));
    for (const { key } of this.db.getRange()) {
      if (!files.has(key)) await this.db.remove(key);
    }
    for (const id of files) {
      if (!this.db.get(id)) await fsp.rm(this.completePath(id), { force: true }); // no index entry: never verified
    }
  }

  /** Sets how queued prefetches find an image and its bytes. */
  setPrefetchSource(f: (id: string) => Promise<{ img: ImageRecord; source: OpenSource } | null>) {
    this.prefetchSource = f;
  }

  isCached(id: string): boolean {
    return this.db.get(id) !== undefined;
  }

  usedBytes(): number {
    let n = 0;
    for (const { value } of this.db.getRange()) n += value.size;
    for (const f of this.fills.values()) n += f.size;
    return n;
  }

  /**
   * A read handle on the image through the cache, starting (or joining) the fill when it isn't cached.
   * null when the image can't go through the cache (unknown size, bigger than the hard limit, no room).
   */
  async open(img: ImageRecord, source: OpenSource): Promise<CacheRead | null> {
    if (this.isCached(img.id)) {
      const r = await this.openComplete(img.id);
      if (r) return r;
    }
    let fill = this.fills.get(img.id);
    if (!fill) {
      // Requests arriving while a fill is being set up wait for that one: exactly one fill per image.
      let starting = this.starting.get(img.id);
      if (!starting) {
        starting = this.startFill(img, source).finally(() => this.starting.delete(img.id));
        this.starting.set(img.id, starting);
      }
      fill = (await starting) ?? undefined;
      if (!fill) return null;
    }
    return this.openFilling(fill);
  }

  private async openComplete(id: string): Promise<CacheRead | null> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.completePath(id), 'r');
    } catch {
      await this.db.remove(id); // evicted or removed behind our back
      return null;
    }
    const e = this.db.get(id);
    if (!e) {
      await fh.close();
      return null;
    }
    void this.db.put(id, { ...e, hits: e.hits + 1, lastAccessed: Date.now() });
    this.readers.set(id, (this.readers.get(id) ?? 0) + 1);
    let closed = false;
    return {
      fd: fh.fd,
      size: e.size,
      close: async () => {
        if (closed) return;
        closed = true;
        this.readers.set(id, (this.readers.get(id) ?? 1) - 1);
        await fh.close().catch(() => {});
      },
    };
  }

  private async openFilling(fill: Fill): Promise<CacheRead> {
    // The fd stays valid across the final rename (same inode), and after an unlink on failure.
    const fh = await fsp.open(fill.tmpPath, 'r').catch(async (e) => {
      // Renamed into place between our look-up and this open: the complete file is the same bytes.
      if (!fill.error) return fsp.open(this.completePath(fill.id), 'r');
      throw e;
    });
    fill.readers++;
    this.readers.set(fill.id, (this.readers.get(fill.id) ?? 0) + 1);
    let closed = false;
    return {
      fd: fh.fd,
      size: fill.size,
      available: (pos) => fill.waitFor(pos),
      close: async () => {
        if (closed) return;
        closed = true;
        fill.readers--;
        this.readers.set(fill.id, (this.readers.get(fill.id) ?? 1) - 1);
        await fh.close().catch(() => {});
      },
    };
  }

  private async startFill(img: ImageRecord, source: OpenSource): Promise<Fill | null> {
    const size = img.size;
    if (size === null || size === 0 || size > this.o.hardMaxSize) return null;
    await this.prune(this.o.maxSize - size);
    if (this.usedBytes() + size > this.o.hardMaxSize) {
      this.log.warn({ image: img.id, size }, 'cache is full of entries in use; serving without caching');
      return null;
    }
    const tmpPath = path.join(this.incompleteDir, img.id);
    const fh = await fsp.open(tmpPath, 'w', 0o640);
    const fill = new Fill(img.id, size, tmpPath);
    this.fills.set(img.id, fill);
    void this.runFill(img, fill, fh, source);
    return fill;
  }

  private async runFill(img: ImageRecord, fill: Fill, fh: fsp.FileHandle, source: OpenSource) {
    const started = Date.now();
    let src: Readable | null = null;
    let stall: NodeJS.Timeout | null = null;
    try {
      src = await source();
      const s = src;
      // A fill that makes no progress for image_cache_stall_time is abandoned (and its readers fail).
      const arm = () => {
        if (stall) clearTimeout(stall);
        stall = setTimeout(() => s.destroy(new Error(`cache fill stalled for ${this.o.stallTimeSec} s`)), this.o.stallTimeSec * 1000);
      };
      arm();
      s.on('data', arm);
      const r = await ingest(s, fillWriter(fh, fill), {
        maxBytes: fill.size,
        expectedSize: fill.size,
        hashAlgo: img.os_hash_algo ?? this.o.hashAlgo,
        hashInWorkers: this.o.hashInWorkers && fill.size > INLINE_HASH_MAX,
        // the os_hash (sha512) alone verifies the copy; md5 on top would double the CPU of every fill
        md5: !(img.os_hash_algo && img.os_hash_value),
      });
      const bad: string[] = [];
      if (!(img.os_hash_algo && img.os_hash_value) && img.checksum && r.md5 !== img.checksum) bad.push(`md5 ${r.md5} != ${img.checksum}`);
      if (img.os_hash_value && r.osHash !== img.os_hash_value) bad.push(`${img.os_hash_algo} mismatch`);
      if (img.xxh3 && r.xxh3 !== img.xxh3) bad.push('xxh3 mismatch');
      if (bad.length) throw new CacheVerifyError(`cached bytes of image ${img.id} do not match its checksums (${bad.join(', ')}); discarded`);
      await fh.sync();
      await fh.close();
      await fsp.rename(fill.tmpPath, this.completePath(img.id));
      const now = Date.now();
      await this.db.put(img.id, { id: img.id, size: fill.size, hits: 0, lastAccessed: now, lastModified: now });
      fill.complete();
      this.log.info({ image: img.id, size: fill.size, ms: now - started, readers: fill.readers }, 'image cached');
    } catch (e) {
      src?.destroy();
      await fh.close().catch(() => {});
      await fsp.rm(fill.tmpPath, { force: true });
      const err = e instanceof Error ? e : new Error(String(e));
      if (err instanceof CacheVerifyError) this.log.error({ image: img.id }, err.message);
      else this.log.warn({ image: img.id, err: err.message }, 'cache fill failed');
      fill.fail(err);
    } finally {
      if (stall) clearTimeout(stall);
      this.fills.delete(img.id);
      void this.prune(this.o.maxSize).catch(() => {});
    }
  }

  /** Evicts least recently used entries not being read until the cache holds at most `target` bytes. */
  async prune(target = this.o.maxSize): Promise<number> {
    const entries = [...this.db.getRange()].map((e) => e.value).sort((a, b) => a.lastAccessed - b.lastAccessed);
    let used = this.usedBytes();
    let removed = 0;
    for (const e of entries) {
      if (used <= target) break;
      if ((this.readers.get(e.id) ?? 0) > 0) continue;
      await this.remove(e.id);
      used -= e.size;
      removed++;
    }
    return removed;
  }

  /** Drops a cached image (not a fill in progress). */
  async remove(id: string): Promise<boolean> {
    const had = this.isCached(id);
    await this.db.remove(id);
    await fsp.rm(this.completePath(id), { force: true });
    return had;
  }

  list(): { cached: CacheEntry[]; queued: string[] } {
    return { cached: [...this.db.getRange()].map((e) => e.value), queued: [...this.queued] };
  }

  async clear(target: 'cache' | 'queue' | 'both'): Promise<void> {
    if (target !== 'cache') this.queued = [];
    if (target !== 'queue') {
      for (const { key } of [...this.db.getRange()]) if ((this.readers.get(key) ?? 0) === 0) await this.remove(key);
    }
  }

  dequeue(id: string): boolean {
    const before = this.queued.length;
    this.queued = this.queued.filter((q) => q !== id);
    return this.queued.length !== before;
  }

  /** Queues an image to be cached now, with at most prefetch_workers fills of queued images at once. */
  enqueue(id: string) {
    if (!this.queued.includes(id) && !this.isCached(id)) this.queued.push(id);
    this.pumpPrefetch();
  }

  private pumpPrefetch() {
    while (this.prefetching < this.o.prefetchWorkers && this.queued.length > 0 && this.prefetchSource) {
      const id = this.queued.shift()!;
      this.prefetching++;
      void (async () => {
        try {
          const found = await this.prefetchSource!(id);
          if (!found) return;
          const r = await this.open(found.img, found.source);
          if (!r) return;
          try {
            await this.fills.get(id)?.finished.catch(() => {});
          } finally {
            await r.close();
          }
        } catch (e) {
          this.log.warn({ image: id, err: (e as Error).message }, 'prefetch failed');
        } finally {
          this.prefetching--;
          this.pumpPrefetch();
        }
      })();
    }
  }

  /** Removes incomplete files of fills that are no longer running (Glance's `clean`). */
  async clean(): Promise<number> {
    let n = 0;
    for (const name of await fsp.readdir(this.incompleteDir)) {
      if (!this.fills.has(name)) {
        await fsp.rm(path.join(this.incompleteDir, name), { force: true });
        n++;
      }
    }
    return n;
  }
}

/** Writes a fill's bytes in order (one pwrite at a time) and publishes progress after each. */
function fillWriter(fh: fsp.FileHandle, fill: Fill): StoreWriter {
  let pos = 0;
  let written = 0;
  let tail: Promise<void> = Promise.resolve();
  return {
    write(chunk: Buffer) {
      const at = pos;
      pos += chunk.length;
      const p = tail.then(async () => {
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, off, chunk.length - off, at + off);
          off += bytesWritten;
        }
        written = at + chunk.length;
        fill.progress(written);
      });
      tail = p.catch(() => {});
      return p;
    },
    async commit() {
      throw new Error('not used');
    },
    async abort() {},
  };
}

export function cacheDirOk(dir: string): string | null {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
