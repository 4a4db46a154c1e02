// Promise API over the imaged_rbd addon (native/rbd.cc): librados/librbd C
// API, blocking calls on the libuv threadpool, image I/O as rbd_aio_* (no
// threadpool thread per I/O, no Buffer copies).
//
// The addon is built only where librbd-dev/librados-dev are installed and
// loads only where librbd1/librados2 are; rbdAvailable() says whether it did,
// rbdUnavailableReason() why not. connect() rejects with code
// ERR_RBD_UNAVAILABLE then.
//
// Errors: every rejection from librados/librbd is an RbdError: `code` is the
// errno name (ENOENT, EBUSY, EPERM, ETIMEDOUT, EEXIST, ...), `errno` the
// positive number, `op` the method, and the message names the op, its target
// and the failing C function. A closed handle rejects with EBADF.
//
// Lifetimes: close()/shutdown() wait for the handle's in-flight ops, then
// release it; calling them twice is harmless. cluster.shutdown() also closes
// every pool and image opened through it. An image stays usable after its
// pool's close() (librbd keeps its own ioctx). Handles dropped without close()
// stay open until their cluster's shutdown() or the end of the thread.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// Same relative depth from src/native/ (tsx) and dist/native/ (tsc).
const ADDON_PATH = '../../build/Release/imaged_rbd.node';

/** glance_store's default object size order (8 MiB objects). */
export const RBD_DEFAULT_ORDER = 23;
/** RBD_FEATURE_LAYERING from rbd/features.h. */
export const RBD_FEATURE_LAYERING = 1;

export interface ConnectOptions {
  /** Ceph client id without the 'client.' prefix (a leading 'client.' is stripped). */
  user: string;
  /** ceph.conf path; default: librados' search ($CEPH_CONF, /etc/ceph/ceph.conf, ...). */
  confFile?: string;
  /** Keyring path; default: the conf's `keyring` setting. */
  keyring?: string;
  /**
   * Sets client_mount_timeout, rados_mon_op_timeout and rados_osd_op_timeout (seconds):
   * connect fails with ETIMEDOUT after this long, and so does any later op the cluster
   * does not answer. 0/undefined: librados defaults (mount 300 s, ops never time out).
   */
  connectTimeoutSec?: number;
  /** Extra librados/librbd config options, applied after the conf file (rados_conf_set). */
  config?: Record<string, string>;
}

export interface RadosCluster {
  fsid(): Promise<string>;
  openPool(pool: string): Promise<RbdPool>;
  /** Closes every pool and image opened through this cluster, then rados_shutdown. */
  shutdown(): Promise<void>;
}

export interface CreateOptions {
  /** Object size 2^order; glance default 23. */
  order: number;
  /** 'layering': format 2 with layering only, like glance_store. Default: the cluster's rbd_default_features. */
  features?: 'layering';
}

export interface OpenOptions {
  /** Open at this snapshot (read-only). */
  snap?: string;
  /** rbd_open_read_only: no watch, no exclusive lock; writes reject with EROFS. */
  readOnly?: boolean;
}

export interface RbdPool {
  readonly name: string;
  /** rbd_create4: format 2; EEXIST if the name is taken. */
  create(name: string, size: number, opts: CreateOptions): Promise<void>;
  open(name: string, opts?: OpenOptions): Promise<RbdImage>;
  /** rbd_remove. EBUSY if the image has snapshots (librbd's ENOTEMPTY, see rbdCode) or watchers; ENOENT if missing. */
  remove(name: string): Promise<void>;
  list(): Promise<string[]>;
  close(): Promise<void>;
}

export interface RbdStat {
  size: number;
  order: number;
  objSize: number;
  numObjs: number;
}

export interface RbdSnap {
  name: string;
  id: number;
  size: number;
}

export interface RbdChild {
  pool: string;
  image: string;
  /** Image id of the child. */
  id: string;
  /** RADOS namespace of the child ('' for the default). */
  namespace: string;
  /** The child is in the trash. */
  trash: boolean;
}

export interface RbdImage {
  /** 'pool/image' or 'pool/image@snap'. */
  readonly name: string;
  stat(): Promise<RbdStat>;
  resize(size: number): Promise<void>;
  /** rbd_aio_write of all of `data` at `offset`; `data` must not change until this settles. */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** rbd_aio_read into `target` (its full length); resolves to the bytes read (short at the image end). */
  read(offset: number, target: Uint8Array): Promise<number>;
  /** rbd_aio_flush. */
  flush(): Promise<void>;
  snapCreate(name: string): Promise<void>;
  snapProtect(name: string): Promise<void>;
  /** EBUSY while the snapshot has clones. */
  snapUnprotect(name: string): Promise<void>;
  /** EBUSY if protected. */
  snapRemove(name: string): Promise<void>;
  snapList(): Promise<RbdSnap[]>;
  snapIsProtected(name: string): Promise<boolean>;
  /** Clones of image@snap (rbd_list_children3 on a temporary read-only handle opened at the snap). */
  listChildren(snap: string): Promise<RbdChild[]>;
  close(): Promise<void>;
}

/** Rejection from librados/librbd (or EBADF for a closed handle). */
export interface RbdError extends Error {
  code: string;
  errno: number;
  op: string;
  /** Set when `code` was normalised: the errno name librbd itself returned. */
  rbdCode?: string;
}

export function isRbdError(err: unknown, code?: string): err is RbdError {
  return (
    err instanceof Error &&
    typeof (err as RbdError).errno === 'number' &&
    typeof (err as RbdError).code === 'string' &&
    (code === undefined || (err as RbdError).code === code)
  );
}

// ---------------------------------------------------------------- addon

declare const handleBrand: unique symbol;
type Handle = { readonly [handleBrand]: true };

interface RbdBinding {
  connect(user: string, conf: string | null, keyring: string | null, timeoutSec: number, config: string[]): Promise<Handle>;
  clusterFsid(c: Handle): Promise<string>;
  clusterOpenPool(c: Handle, name: string): Promise<Handle>;
  clusterShutdown(c: Handle): Promise<void>;
  poolCreate(p: Handle, name: string, size: number, order: number, features: number): Promise<void>;
  poolOpen(p: Handle, name: string, snap: string | null, readOnly: boolean): Promise<Handle>;
  poolRemove(p: Handle, name: string): Promise<void>;
  poolList(p: Handle): Promise<string[]>;
  poolClose(p: Handle): Promise<void>;
  imageStat(i: Handle): Promise<RbdStat>;
  imageResize(i: Handle, size: number): Promise<void>;
  imageWrite(i: Handle, offset: number, data: Uint8Array): Promise<void>;
  imageRead(i: Handle, offset: number, target: Uint8Array): Promise<number>;
  imageFlush(i: Handle): Promise<void>;
  imageSnapCreate(i: Handle, snap: string): Promise<void>;
  imageSnapProtect(i: Handle, snap: string): Promise<void>;
  imageSnapUnprotect(i: Handle, snap: string): Promise<void>;
  imageSnapRemove(i: Handle, snap: string): Promise<void>;
  imageSnapList(i: Handle): Promise<RbdSnap[]>;
  imageSnapIsProtected(i: Handle, snap: string): Promise<boolean>;
  imageListChildren(i: Handle, snap: string): Promise<RbdChild[]>;
  imageClose(i: Handle): Promise<void>;
  aioInflight(): number;
  versions(): { rados: string; rbd: string };
}

let binding: RbdBinding | undefined;
let unavailable: string | null | undefined; // undefined: not tried yet

function load(): RbdBinding | undefined {
  if (unavailable !== undefined) return binding;
  try {
    binding = require(ADDON_PATH) as RbdBinding;
    unavailable = null;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const msg = e?.message ?? String(err);
    if (e?.code === 'MODULE_NOT_FOUND' && msg.includes('imaged_rbd.node')) {
      unavailable =
        'librbd is not installed: apt-get install librbd1 librados2 (build needs librbd-dev librados-dev); ' +
        'imaged_rbd.node was not built';
    } else if (/lib(rbd|rados)\.so/.test(msg)) {
      unavailable = `librbd is not installed: apt-get install librbd1 librados2 (${msg.split('\n')[0]})`;
    } else {
      unavailable = `imaged_rbd addon failed to load: ${msg.split('\n')[0]}`;
    }
  }
  return binding;
}

/** true if the librbd addon is built and loads. */
export function rbdAvailable(): boolean {
  return load() !== undefined;
}

/** Why rbdAvailable() is false; null when it is true. */
export function rbdUnavailableReason(): string | null {
  load();
  return unavailable ?? null;
}

/** librados/librbd library versions, or null if unavailable. */
export function rbdVersions(): { rados: string; rbd: string } | null {
  return load()?.versions() ?? null;
}

/** aio ops (read/write/flush) submitted and not yet settled on this thread. */
export function rbdAioInflight(): number {
  return load()?.aioInflight() ?? 0;
}

function native(): RbdBinding {
  const b = load();
  if (!b) {
    const err = new Error(unavailable ?? 'librbd unavailable') as Error & { code: string };
    err.code = 'ERR_RBD_UNAVAILABLE';
    throw err;
  }
  return b;
}

function checkName(what: string, v: unknown): asserts v is string {
  if (typeof v !== 'string' || v.length === 0 || v.includes('\0')) {
    throw new TypeError(`${what} must be a non-empty string`);
  }
}

function checkUint(what: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${String(v)}`);
  }
}

function checkBytes(what: string, v: unknown): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${what} must be a Buffer or Uint8Array`);
}

// ---------------------------------------------------------------- classes

class Cluster implements RadosCluster {
  #h: Handle;
  #closing?: Promise<void>;
  constructor(h: Handle) {
    this.#h = h;
  }
  async fsid(): Promise<string> {
    return native().clusterFsid(this.#h);
  }
  async openPool(pool: string): Promise<RbdPool> {
    checkName('pool', pool);
    return new Pool(await native().clusterOpenPool(this.#h, pool), pool);
  }
  shutdown(): Promise<void> {
    return (this.#closing ??= native().clusterShutdown(this.#h));
  }
}

class Pool implements RbdPool {
  #h: Handle;
  #closing?: Promise<void>;
  constructor(h: Handle, readonly name: string) {
    this.#h = h;
  }
  async create(name: string, size: number, opts: CreateOptions): Promise<void> {
    checkName('image name', name);
    checkUint('size', size);
    const order = opts?.order;
    if (!Number.isInteger(order) || order < 12 || order > 26) {
      throw new RangeError(`order must be an integer in [12, 26], got ${String(order)}`);
    }
    let features = -1;
    if (opts.features === 'layering') features = RBD_FEATURE_LAYERING;
    else if (opts.features !== undefined) throw new TypeError(`unsupported features ${String(opts.features)}`);
    return native().poolCreate(this.#h, name, size, order, features);
  }
  async open(name: string, opts: OpenOptions = {}): Promise<RbdImage> {
    checkName('image name', name);
    if (opts.snap !== undefined) checkName('snap', opts.snap);
    const h = await native().poolOpen(this.#h, name, opts.snap ?? null, opts.readOnly === true);
    return new Image(h, `${this.name}/${name}${opts.snap !== undefined ? `@${opts.snap}` : ''}`);
  }
  async remove(name: string): Promise<void> {
    checkName('image name', name);
    try {
      await native().poolRemove(this.#h, name);
    } catch (err) {
      // librbd refuses an image with snapshots with ENOTEMPTY; glance_store treats it
      // like a watched image (ImageBusy / ImageHasSnapshots -> in use): report EBUSY.
      if (isRbdError(err, 'ENOTEMPTY')) {
        err.rbdCode = err.code;
        err.code = 'EBUSY';
        err.errno = 16;
        err.message = err.message.replace(/\(ENOTEMPTY\)$/, '(EBUSY: image has snapshots)');
      }
      throw err;
    }
  }
  async list(): Promise<string[]> {
    return native().poolList(this.#h);
  }
  close(): Promise<void> {
    return (this.#closing ??= native().poolClose(this.#h));
  }
}

class Image implements RbdImage {
  #h: Handle;
  #closing?: Promise<void>;
  constructor(h: Handle, readonly name: string) {
    this.#h = h;
  }
  async stat(): Promise<RbdStat> {
    return native().imageStat(this.#h);
  }
  async resize(size: number): Promise<void> {
    checkUint('size', size);
    return native().imageResize(this.#h, size);
  }
  async write(offset: number, data: Uint8Array): Promise<void> {
    checkUint('offset', offset);
    checkBytes('data', data);
    return native().imageWrite(this.#h, offset, data);
  }
  async read(offset: number, target: Uint8Array): Promise<number> {
    checkUint('offset', offset);
    checkBytes('target', target);
    return native().imageRead(this.#h, offset, target);
  }
  async flush(): Promise<void> {
    return native().imageFlush(this.#h);
  }
  async snapCreate(name: string): Promise<void> {
    checkName('snap', name);
    return native().imageSnapCreate(this.#h, name);
  }
  async snapProtect(name: string): Promise<void> {
    checkName('snap', name);
    return native().imageSnapProtect(this.#h, name);
  }
  async snapUnprotect(name: string): Promise<void> {
    checkName('snap', name);
    return native().imageSnapUnprotect(this.#h, name);
  }
  async snapRemove(name: string): Promise<void> {
    checkName('snap', name);
    return native().imageSnapRemove(this.#h, name);
  }
  async snapList(): Promise<RbdSnap[]> {
    return native().imageSnapList(this.#h);
  }
  async snapIsProtected(name: string): Promise<boolean> {
    checkName('snap', name);
    return native().imageSnapIsProtected(this.#h, name);
  }
  async listChildren(snap: string): Promise<RbdChild[]> {
    checkName('snap', snap);
    return native().imageListChildren(this.#h, snap);
  }
  close(): Promise<void> {
    return (this.#closing ??= native().imageClose(this.#h));
  }
}

/** Connects to the cluster as client.<user> (rados_create/conf/connect on the threadpool). */
export async function connect(o: ConnectOptions): Promise<RadosCluster> {
  const b = native();
  if (!o || typeof o.user !== 'string') throw new TypeError('connect: user is required');
  const user = o.user.startsWith('client.') ? o.user.slice('client.'.length) : o.user;
  checkName('user', user);
  if (o.confFile !== undefined) checkName('confFile', o.confFile);
  if (o.keyring !== undefined) checkName('keyring', o.keyring);
  const timeout = o.connectTimeoutSec ?? 0;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
    throw new RangeError(`connectTimeoutSec must be a non-negative number, got ${String(timeout)}`);
  }
  const config: string[] = [];
  for (const [k, v] of Object.entries(o.config ?? {})) config.push(k, String(v));
  // librados takes whole seconds here; round up so 0 < t < 1 does not mean "no timeout".
  const h = await b.connect(user, o.confFile ?? null, o.keyring ?? null, Math.ceil(timeout), config);
  return new Cluster(h);
}
