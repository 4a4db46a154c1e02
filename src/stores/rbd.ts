import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { windowedReadable } from '../data/windowed.js';
import type { Logger } from 'pino';
import type { ImageLocation } from '../images/record.js';
import { connect, rbdAvailable, rbdUnavailableReason, type RadosCluster, type RbdImage, type RbdPool } from '../native/rbd.js';
import { formatRbdUrl, parseRbdUrl } from './rbd-location.js';
import { DataNotFoundError, InUseError, type Store, type StoreInfo, type StoreReader, type StoreWriter } from './types.js';

export interface RbdStoreOptions {
  id: string;
  description: string;
  weight: number;
  isDefault: boolean;
  pool: string;
  user: string;
  cephConf: string;
  order: number;
  connectTimeout: number;
  thinProvisioning: boolean;
  log: Logger;
}

const SNAP = 'snap'; // glance_store's snapshot name
const RETRY_MS = 5_000;
const READ_WINDOW = 4; // chunks in flight per download
const GROW_STEP = 1 << 30; // unknown-size uploads grow the image by up to 1 GiB at a time

/**
 * Ceph RBD in glance_store's layout: image named by the image id, format 2 with layering, data written,
 * snapshot `snap` created and protected, location rbd://fsid/pool/image/snap. Nova and Cinder clone from it.
 */
export class RbdStore implements Store {
  readonly info: StoreInfo;
  private cluster: RadosCluster | null = null;
  private pools = new Map<string, Promise<RbdPool>>();
  private fsid = '';
  private lastError: string | null = 'connecting to the cluster';
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly o: RbdStoreOptions) {
    this.info = {
      id: o.id, type: 'rbd', description: o.description, weight: o.weight, isDefault: o.isDefault,
      properties: { pool: o.pool, chunk_size: 2 ** (o.order - 20), thin_provisioning: o.thinProvisioning },
    };
  }

  private get chunkBytes() {
    return 2 ** this.o.order;
  }

  start(): void {
    if (!rbdAvailable()) {
      this.lastError = rbdUnavailableReason();
      return;
    }
    void this.connectOnce();
  }

  private async connectOnce(): Promise<void> {
    if (this.stopped) return;
    try {
      const cluster = await connect({ user: this.o.user || 'admin', confFile: this.o.cephConf, connectTimeoutSec: this.o.connectTimeout });
      const fsid = await cluster.fsid();
      const pool = await cluster.openPool(this.o.pool);
      this.cluster = cluster;
      this.fsid = fsid;
      this.pools.set(this.o.pool, Promise.resolve(pool));
      this.lastError = null;
      this.o.log.info({ store: this.o.id, fsid, pool: this.o.pool }, 'rbd store connected');
    } catch (e) {
      const user = this.o.user || 'admin';
      this.lastError = `cannot reach the Ceph cluster as client.${user} (ceph.conf ${this.o.cephConf}, keyring ${keyringFor(this.o.cephConf, user)}, pool ${this.o.pool}): ${(e as Error).message}`;
      this.o.log.warn({ store: this.o.id, err: (e as Error).message }, 'rbd store unavailable; retrying');
      if (!this.stopped) this.retry = setTimeout(() => void this.connectOnce(), RETRY_MS).unref();
    }
  }

  /** An operation failed because the cluster went away: mark unavailable and reconnect in the background. */
  private noteFailure(e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code === 'ETIMEDOUT' || code === 'ENOTCONN' || code === 'ESHUTDOWN') && this.lastError === null) {
      this.lastError = `cluster operation timed out: ${(e as Error).message}`;
      const old = this.cluster;
      this.cluster = null;
      this.pools.clear();
      void old?.shutdown().catch(() => {});
      this.retry = setTimeout(() => void this.connectOnce(), RETRY_MS).unref();
    }
  }

  unavailableReason(): string | null {
    return this.lastError;
  }

  async freeBytes(): Promise<number | null> {
    return null;
  }

  private pool(name: string): Promise<RbdPool> {
    if (!this.cluster) return Promise.reject(new Error(this.lastError ?? 'not connected'));
    let p = this.pools.get(name);
    if (!p) {
      p = this.cluster.openPool(name);
      p.catch(() => this.pools.delete(name));
      this.pools.set(name, p);
    }
    return p;
  }

  owns(url: string): boolean {
    const l = parseRbdUrl(url);
    return l !== null && (l.fsid === null || l.fsid === this.fsid);
  }

  async createWriter(imageId: string, expectedSize: number | null): Promise<StoreWriter> {
    const pool = await this.pool(this.o.pool);
    let capacity = expectedSize ?? this.chunkBytes;
    try {
      await pool.create(imageId, capacity, { order: this.o.order, features: 'layering' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        this.noteFailure(e);
        throw e;
      }
      // A leftover of a write interrupted by a crash (the catalog lists no location here, or we would not be
      // writing): remove it and start again. One with clones is in use and stays.
      this.o.log.warn({ image: imageId, pool: this.o.pool }, 'removing a partial rbd image left by an interrupted write');
      await this.removeImage(this.o.pool, imageId);
      await pool.create(imageId, capacity, { order: this.o.order, features: 'layering' });
    }
    const image = await pool.open(imageId).catch(async (e) => {
      await pool.remove(imageId).catch(() => {});
      throw e;
    });
    let end = 0; // bytes claimed by write() calls so far
    let resizing: Promise<void> = Promise.resolve();
    const thin = this.o.thinProvisioning;
    const ensure = (upTo: number) => {
      // Resizes are chained so that concurrent writes never shrink or race each other.
      resizing = resizing.then(async () => {
        if (upTo <= capacity) return;
        const next = Math.max(upTo, capacity + Math.min(Math.max(capacity, this.chunkBytes), GROW_STEP));
        await image.resize(next);
        capacity = next;
      });
      return resizing;
    };
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await image.close().catch(() => {});
      }
    };
    const store = this;
    return {
      async write(chunk: Buffer) {
        const at = end;
        end += chunk.length;
        if (end > capacity) await ensure(end);
        if (thin && isZero(chunk)) return; // a fresh RBD image reads zeros where nothing was written
        try {
          await image.write(at, chunk);
        } catch (e) {
          store.noteFailure(e);
          throw e;
        }
      },
      async commit(): Promise<ImageLocation> {
        await resizing;
        if (capacity !== end) await image.resize(end);
        await image.flush();
        await image.snapCreate(SNAP);
        await image.snapProtect(SNAP);
        await close();
        return { url: formatRbdUrl({ fsid: store.fsid, pool: store.o.pool, image: imageId, snap: SNAP }), store: store.o.id, metadata: {} };
      },
      async abort() {
        await close();
        await store.removeImage(store.o.pool, imageId).catch((e) => {
          store.o.log.warn({ image: imageId, err: (e as Error).message }, 'could not remove partial rbd image');
        });
      },
    };
  }

  private resolve(location: ImageLocation) {
    const l = parseRbdUrl(location.url);
    if (!l) throw new DataNotFoundError(`not an rbd location: ${location.url}`);
    if (l.fsid !== null && this.fsid && l.fsid !== this.fsid) throw new DataNotFoundError(`location ${location.url} is on another Ceph cluster (this one is ${this.fsid})`);
    return { pool: l.pool ?? this.o.pool, image: l.image, snap: l.snap };
  }

  async open(location: ImageLocation): Promise<StoreReader> {
    const l = this.resolve(location);
    const pool = await this.pool(l.pool);
    let image: RbdImage;
    try {
      image = await pool.open(l.image, { snap: l.snap ?? undefined, readOnly: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new DataNotFoundError(`rbd image ${l.pool}/${l.image}@${l.snap} not found`);
      this.noteFailure(e);
      throw e;
    }
    const { size } = await image.stat();
    const chunk = Math.min(this.chunkBytes, 8 << 20);
    return {
      size,
      stream: (start, endIncl) => windowedReader(image, start, endIncl + 1, chunk, (e) => this.noteFailure(e)),
      pipeTo: (dst, start, endIncl) => pumpTo(image, start, endIncl + 1, chunk, dst as Writable, (e) => this.noteFailure(e)),
      close: () => image.close().catch(() => {}),
    };
  }

  async inUse(location: ImageLocation): Promise<string | null> {
    const l = this.resolve(location);
    const pool = await this.pool(l.pool);
    let image: RbdImage;
    try {
      image = await pool.open(l.image);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    try {
      for (const s of await image.snapList()) {
        const children = await image.listChildren(s.name);
        if (children.length > 0) {
          const list = children.map((c) => `${c.pool}/${c.image}`).join(', ');
          return `rbd image ${l.pool}/${l.image}@${s.name} has clones (${list}): it is in use by a VM or a volume`;
        }
      }
      return null;
    } finally {
      await image.close().catch(() => {});
    }
  }

  async delete(location: ImageLocation): Promise<void> {
    const l = this.resolve(location);
    const why = await this.inUse(location);
    if (why) throw new InUseError(why);
    await this.removeImage(l.pool, l.image);
  }

  /** Unprotects and removes every snapshot, then the image. A missing image is already deleted. */
  private async removeImage(poolName: string, name: string): Promise<void> {
    const pool = await this.pool(poolName);
    let image: RbdImage;
    try {
      image = await pool.open(name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    try {
      for (const s of await image.snapList()) {
        if (await image.snapIsProtected(s.name)) {
          try {
            await image.snapUnprotect(s.name);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'EBUSY') throw new InUseError(`rbd image ${poolName}/${name}@${s.name} has clones`);
            throw e;
          }
        }
        await image.snapRemove(s.name);
      }
    } finally {
      await image.close().catch(() => {});
    }
    try {
      await pool.remove(name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      if ((e as NodeJS.ErrnoException).code === 'EBUSY') throw new InUseError(`rbd image ${poolName}/${name} is busy (watched or has snapshots)`);
      throw e;
    }
  }

  async cleanupIncomplete(): Promise<number> {
    return 0; // partial images are removed by abort(); the catalog's saving→queued pass covers crashes
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const c = this.cluster;
    this.cluster = null;
    this.pools.clear();
    await c?.shutdown().catch(() => {});
  }
}

/** Where librados looks for client.<user>'s key: the conf's `keyring` (with $cluster/$name expanded) or the default. */
export function keyringFor(confFile: string, user: string): string {
  let keyring = '/etc/ceph/ceph.client.' + user + '.keyring';
  try {
    let section = '';
    for (const raw of readFileSync(confFile, 'utf8').split('\n')) {
      const line = raw.trim();
      const sec = /^\[(.+)\]$/.exec(line);
      if (sec) section = sec[1].trim();
      const m = /^keyring\s*=\s*(.+)$/.exec(line);
      if (m && (section === 'global' || section === 'client' || section === `client.${user}`)) keyring = m[1].trim();
    }
  } catch {
    /* unreadable conf: the connect error says so */
  }
  return keyring.replace(/\$cluster/g, 'ceph').replace(/\$name/g, `client.${user}`);
}

function isZero(b: Buffer): boolean {
  // Compare 8 bytes at a time when aligned; zero runs are common in sparse disk images.
  const words = Math.floor(b.length / 8);
  if (b.byteOffset % 8 === 0) {
    const big = new BigUint64Array(b.buffer, b.byteOffset, words);
    for (let i = 0; i < words; i++) if (big[i] !== 0n) return false;
  } else {
    for (let i = 0; i < words * 8; i++) if (b[i] !== 0) return false;
  }
  for (let i = words * 8; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Reads [start, end) with up to READ_WINDOW aio reads in flight, in order, with backpressure. */
function windowedReader(image: RbdImage, start: number, end: number, chunk: number, onError: (e: unknown) => void): Readable {
  const read = async (at: number, len: number) => {
    const buf = Buffer.allocUnsafe(len);
    const n = await image.read(at, buf);
    if (n !== len) throw Object.assign(new Error(`short rbd read at ${at}: ${n} of ${len} bytes`), { code: 'ESHORTREAD' });
    return buf;
  };
  return windowedReadable({ read, onError }, start, end, chunk, READ_WINDOW);
}

/**
 * Sends [start, end) into `dst` with up to READ_WINDOW aio reads in flight, recycling the read buffers once
 * the socket has taken their bytes: a download allocates a handful of buffers instead of one per chunk
 * (fresh 8 MiB buffers per chunk cost ~25% of the CPU in garbage collection and page zeroing).
 */
async function pumpTo(image: RbdImage, start: number, end: number, chunk: number, dst: Writable, onError: (e: unknown) => void): Promise<void> {
  const pool: Buffer[] = [];
  const inflight: Array<{ buf: Buffer; len: number; at: number; read: Promise<number> }> = [];
  let next = start;
  let writeError: Error | null = null;
  const closed = new Promise<never>((_, reject) => dst.once('close', () => reject(new Error('client went away'))));
  closed.catch(() => {});
  try {
    for (;;) {
      while (inflight.length < READ_WINDOW && next < end) {
        const len = Math.min(chunk, end - next);
        const buf = pool.pop() ?? Buffer.allocUnsafeSlow(chunk);
        inflight.push({ buf, len, at: next, read: image.read(next, buf.subarray(0, len)) });
        next += len;
      }
      const head = inflight.shift();
      if (!head) return;
      const n = await Promise.race([head.read, closed]);
      if (n !== head.len) throw Object.assign(new Error(`short rbd read at ${head.at}: ${n} of ${head.len} bytes`), { code: 'ESHORTREAD' });
      if (writeError) throw writeError;
      const ok = dst.write(head.buf.subarray(0, head.len), (err) => {
        if (err) writeError = err;
        else pool.push(head.buf); // the socket has the bytes: the buffer can take the next read
      });
      if (!ok) await Promise.race([new Promise((r) => dst.once('drain', r)), closed]);
    }
  } catch (e) {
    onError(e);
    await Promise.allSettled(inflight.map((i) => i.read)); // never free a buffer librbd is still filling
    throw e;
  }
}
