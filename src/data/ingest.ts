import type { Readable } from 'node:stream';
import type { StoreWriter } from '../stores/types.js';
import { createMultiHasher } from '../hashing/hashers.js';
import { createXxh3 } from '../hashing/xxh3.js';
import { HttpError, badRequest, tooLarge } from '../util/errors.js';

export interface IngestOptions {
  /** Bytes allowed at most (image_size_cap); more → 413. */
  maxBytes: number;
  /** Size the client announced (x-openstack-image-size); a different count → 400. */
  expectedSize: number | null;
  hashAlgo: string;
  /** Hash in worker threads (large or unknown-size uploads). */
  hashInWorkers: boolean;
  /** Skip md5 (verifying a copy whose os_hash is known); md5 is then ''. Default true. */
  md5?: boolean;
  signal?: AbortSignal;
}

export interface IngestResult {
  size: number;
  md5: string;
  osHash: string;
  xxh3: string;
}

/** The client went away before the body ended. */
export class ClientAbortError extends Error {}

const SLOT_BYTES = 1 << 20;
const SLOTS = 8; // at most 8 MiB between the socket and the disk/hashers; the socket is paused beyond that

/**
 * Streams a request body into a store writer while hashing it. Bytes are gathered into 1 MiB slots; each full
 * slot is written and hashed concurrently, and a slot is reused only when both are done, so memory stays
 * bounded and a slow disk or hasher pauses the socket (TCP backpressure) instead of buffering.
 * Resolves once every byte has been handed to the writer (the caller commits); rejects after all in-flight
 * work has settled, so the caller can safely abort the writer.
 */
export function ingest(src: Readable, writer: StoreWriter, o: IngestOptions): Promise<IngestResult> {
  const hasher = createMultiHasher(o.hashAlgo, o.hashInWorkers, o.md5 ?? true);
  const xxh = createXxh3();
  const newSlot = () => Buffer.from(o.hashInWorkers ? new SharedArrayBuffer(SLOT_BYTES) : new ArrayBuffer(SLOT_BYTES));
  const free: Buffer[] = [];
  let cur: Buffer | null = null;
  let curLen = 0;
  let total = 0;
  const inflight = new Set<Promise<void>>();
  let failure: Error | null = null;
  let ended = false;
  let allocated = 0;

  const takeSlot = (): Buffer => {
    const s = free.pop();
    if (s) return s;
    allocated++;
    return newSlot();
  };
  const canAccept = () => free.length > 0 || allocated < SLOTS;

  return new Promise<IngestResult>((resolve, reject) => {
    let settling = false;
    const settle = async () => {
      if (settling) return;
      settling = true;
      await Promise.allSettled([...inflight]);
      detach();
      if (failure) {
        hasher.close();
        reject(failure);
        return;
      }
      try {
        if (o.expectedSize !== null && total !== o.expectedSize) {
          throw badRequest(`Provided image size must match the stored image size: got ${total} bytes, x-openstack-image-size said ${o.expectedSize}`);
        }
        const d = await hasher.digests();
        resolve({ size: total, md5: d.md5, osHash: d.os, xxh3: xxh.hex() });
      } catch (e) {
        reject(e);
      } finally {
        hasher.close();
      }
    };

    const fail = (e: Error) => {
      if (failure) return;
      failure = e;
      src.pause();
      if (inflight.size === 0) void settle();
    };

    const flush = (slot: Buffer, len: number) => {
      const view = slot.subarray(0, len);
      xxh.update(view);
      const p: Promise<void> = Promise.all([writer.write(view), hasher.update(view)]).then(
        () => {
          inflight.delete(p);
          free.push(slot);
          if (failure) {
            if (inflight.size === 0) void settle();
          } else if (ended) {
            if (inflight.size === 0) void settle();
          } else if (src.isPaused()) {
            src.resume();
          }
        },
        (e) => {
          inflight.delete(p);
          // A later overlapping write can fail after the first failure was recorded: the last one settles.
          if (failure) {
            if (inflight.size === 0) void settle();
          } else fail(e);
        },
      );
      inflight.add(p);
    };

    const onData = (chunk: Buffer) => {
      if (failure) return;
      total += chunk.length;
      if (total > o.maxBytes) return fail(tooLarge(`Image exceeds the size cap of ${o.maxBytes} bytes`));
      if (o.expectedSize !== null && total > o.expectedSize) {
        return fail(badRequest(`Provided image size must match the stored image size: more than ${o.expectedSize} bytes sent`));
      }
      let off = 0;
      while (off < chunk.length) {
        if (!cur) {
          cur = takeSlot();
          curLen = 0;
        }
        const n = chunk.copy(cur, curLen, off);
        curLen += n;
        off += n;
        if (curLen === SLOT_BYTES) {
          flush(cur, curLen);
          cur = null;
        }
      }
      if (!canAccept()) src.pause();
    };
    const onEnd = () => {
      if (failure) return;
      ended = true;
      if (cur && curLen > 0) flush(cur, curLen);
      cur = null;
      if (inflight.size === 0) void settle();
    };
    const onClose = () => {
      if (!ended) fail(new ClientAbortError('client closed the connection before the image data ended'));
    };
    const onError = (e: Error) => fail(e instanceof HttpError ? e : new ClientAbortError(`upload stream failed: ${e.message}`));
    const onAbortSignal = () => fail(new HttpError(410, 'Image was deleted during upload'));
    const detach = () => {
      src.off('data', onData);
      src.off('end', onEnd);
      src.off('close', onClose);
      src.off('error', onError);
      o.signal?.removeEventListener('abort', onAbortSignal);
    };
    src.on('data', onData);
    src.on('end', onEnd);
    src.on('close', onClose);
    src.on('error', onError);
    if (o.signal?.aborted) onAbortSignal();
    else o.signal?.addEventListener('abort', onAbortSignal);
  });
}
