import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * md5 + the configured os_hash (sha512 by default) over an upload. Each hash costs ~1.4 CPU-s/GiB on this
 * class of machine, so large uploads hash in two worker threads, reading the same SharedArrayBuffer slots
 * the main thread fills (no copies); small ones hash inline, where a worker's start-up would cost more.
 */
export interface MultiHasher {
  /** Hashes bytes [0, len) of the slot; resolves when every hash has consumed them (slot reusable). */
  update(slot: Uint8Array): Promise<void>;
  digests(): Promise<{ md5: string; os: string }>;
  close(): void;
}

/** @param withMd5 false when only the os_hash is needed (verifying a copy whose os_hash is known): half the CPU. */
export function createMultiHasher(osAlgo: string, useWorkers: boolean, withMd5 = true): MultiHasher {
  const h = useWorkers ? new WorkerHasher(osAlgo, withMd5) : new InlineHasher(osAlgo, withMd5);
  return h;
}

class InlineHasher implements MultiHasher {
  private md5: Hash | null;
  private os: Hash;
  constructor(algo: string, withMd5: boolean) {
    this.os = createHash(algo);
    this.md5 = withMd5 ? createHash('md5') : null;
  }
  async update(slot: Uint8Array) {
    this.md5?.update(slot);
    this.os.update(slot);
  }
  async digests() {
    return { md5: this.md5 ? this.md5.digest('hex') : '', os: this.os.digest('hex') };
  }
  close() {}
}

const WORKER_SRC = `
const { parentPort, workerData } = require('node:worker_threads');
const h = require('node:crypto').createHash(workerData.algo);
parentPort.on('message', (m) => {
  if (m.op === 'update') { h.update(new Uint8Array(m.buf, m.off, m.len)); parentPort.postMessage(null); }
  else parentPort.postMessage(h.digest('hex'));
});`;

/** One worker per hash; messages are handled in order, so answers are matched FIFO. */
class HashWorker {
  private w: Worker;
  private pending: Array<{ resolve: (v: any) => void; reject: (e: Error) => void }> = [];
  private dead: Error | null = null;
  constructor(algo: string) {
    this.w = new Worker(WORKER_SRC, { eval: true, workerData: { algo } });
    this.w.unref();
    this.w.on('message', (v) => this.pending.shift()?.resolve(v));
    this.w.on('error', (e) => this.failAll(e));
    this.w.on('exit', () => this.failAll(new Error('hash worker exited')));
  }
  private failAll(e: Error) {
    this.dead ??= e;
    for (const p of this.pending.splice(0)) p.reject(e);
  }
  call(msg: object): Promise<any> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.w.postMessage(msg);
    });
  }
  terminate() {
    void this.w.terminate();
  }
}

class WorkerHasher implements MultiHasher {
  private md5: HashWorker | null;
  private os: HashWorker;
  constructor(algo: string, withMd5: boolean) {
    this.md5 = withMd5 ? new HashWorker('md5') : null;
    this.os = new HashWorker(algo);
  }
  async update(slot: Uint8Array) {
    if (!(slot.buffer instanceof SharedArrayBuffer)) throw new Error('worker hashing needs SharedArrayBuffer slots');
    const msg = { op: 'update', buf: slot.buffer, off: slot.byteOffset, len: slot.byteLength };
    await Promise.all([this.md5?.call(msg), this.os.call(msg)]);
  }
  async digests() {
    const [md5, os] = await Promise.all([this.md5 ? this.md5.call({ op: 'digest' }) : '', this.os.call({ op: 'digest' })]);
    return { md5, os };
  }
  close() {
    this.md5?.terminate();
    this.os.terminate();
  }
}
