import type { Readable } from 'node:stream';
import type { StoreWriter } from '../stores/types.js';
import { createMultiHasher } from '../hashing/hashers.js';
import { createXxh3 } from '../hashing/xxh3.js';
import { HttpError, badRequest, tooLarge } from '../util/errors.js';
import { streamBody, type BodySource } from './body.js';
import { tryLoadNative } from '../native/binding.js';
import { createInspector } from './format-inspector.js';

export { ClientAbortError } from './body.js';

export interface IngestOptions {
  /** Bytes allowed at most (image_size_cap); more → 413. */
  maxBytes: number;
  /** The error for passing maxBytes when a quota set it (given the bytes received so far); null: the size cap's. */
  overLimit?: (received: number) => Error | null;
  /** Size the client announced (x-openstack-image-size); a different count → 400. */
  expectedSize: number | null;
  hashAlgo: string;
  /** Hash in worker threads (large or unknown-size uploads). */
  hashInWorkers: boolean;
  /** Skip md5 (verifying a copy whose os_hash is known); md5 is then ''. Default true. */
  md5?: boolean;
  /** disk_format whose header gives the virtual size (see formatToInspect); null/absent: not inspected. */
  inspect?: string | null;
  signal?: AbortSignal;
}

export interface IngestResult {
  size: number;
  md5: string;
  osHash: string;
  xxh3: string;
  /** From the header of the inspected disk_format; null when not inspected, unknown or not matching. */
  virtualSize: number | null;
}

const SLOT_BYTES = 1 << 20;
/** Slots start on a 4 KiB boundary so a store can write them with O_DIRECT (no page-cache copy). */
export const SLOT_ALIGN = 4096;

function alignedSlot(shared: boolean): Buffer {
  const mem = shared ? new SharedArrayBuffer(SLOT_BYTES + SLOT_ALIGN) : new ArrayBuffer(SLOT_BYTES + SLOT_ALIGN);
  const skip = tryLoadNative()?.alignOffset(new Uint8Array(mem), SLOT_ALIGN) ?? 0;
  return Buffer.from(mem, skip, SLOT_BYTES);
}
const SLOTS = 8; // at most 8 MiB between the socket and the disk/hashers; the socket waits beyond that

/**
 * Streams a request body into a store writer while hashing it. Bytes are gathered into 1 MiB slots; each full
 * slot is written and hashed concurrently, and a slot is reused only when both are done, so memory stays
 * bounded and a slow disk or hasher stops the reads (TCP backpressure) instead of buffering.
 * Resolves once every byte has been handed to the writer (the caller commits); rejects after all in-flight
 * work has settled, so the caller can safely abort the writer.
 */
export async function ingest(body: Readable | BodySource, writer: StoreWriter, o: IngestOptions): Promise<IngestResult> {
  const src = 'fill' in body ? body : streamBody(body);
  const hasher = createMultiHasher(o.hashAlgo, o.hashInWorkers, o.md5 ?? true);
  const xxh = createXxh3();
  // keeps only the header regions it needs, copied out of the slots as they pass
  const inspector = createInspector(o.inspect ?? null);
  const newSlot = () => alignedSlot(o.hashInWorkers);
  const free: Buffer[] = [];
  const inflight = new Set<Promise<void>>();
  let allocated = 0;
  let total = 0;
  let failure: Error | null = null;
  const fail = (e: Error) => {
    failure ??= e;
    src.stop(failure);
  };
  const onAbortSignal = () => fail(new HttpError(410, 'Image was deleted during upload'));
  if (o.signal?.aborted) onAbortSignal();
  else o.signal?.addEventListener('abort', onAbortSignal);

  // Each full slot is written and hashed while the next one fills; its promise never rejects (fail() records).
  const flush = (slot: Buffer, len: number) => {
    const view = slot.subarray(0, len);
    xxh.update(view);
    const p: Promise<void> = Promise.all([writer.write(view), hasher.update(view)]).then(
      () => {
        inflight.delete(p);
        free.push(slot);
      },
      (e) => {
        inflight.delete(p);
        fail(e);
      },
    );
    inflight.add(p);
  };

  try {
    while (!failure) {
      while (free.length === 0 && allocated >= SLOTS && !failure) await Promise.race(inflight);
      if (failure) break;
      const slot = free.pop() ?? (allocated++, newSlot());
      let n: number;
      try {
        n = await src.fill(slot);
      } catch (e) {
        fail(e as Error);
        break;
      }
      if (failure) break;
      total += n;
      if (total > o.maxBytes) {
        fail(o.overLimit?.(total) ?? tooLarge(`Image exceeds the size cap of ${o.maxBytes} bytes`));
        break;
      }
      if (o.expectedSize !== null && total > o.expectedSize) {
        fail(badRequest(`Provided image size must match the stored image size: more than ${o.expectedSize} bytes sent`));
        break;
      }
      if (n > 0) {
        inspector?.eat(slot.subarray(0, n));
        flush(slot, n);
      } else free.push(slot);
      if (n < slot.length) break; // the body ended
    }
    await Promise.all([...inflight]);
    if (failure) throw failure;
    if (o.expectedSize !== null && total !== o.expectedSize) {
      throw badRequest(`Provided image size must match the stored image size: got ${total} bytes, x-openstack-image-size said ${o.expectedSize}`);
    }
    const d = await hasher.digests();
    return { size: total, md5: d.md5, osHash: d.os, xxh3: xxh.hex(), virtualSize: inspector?.virtualSize ?? null };
  } finally {
    o.signal?.removeEventListener('abort', onAbortSignal);
    hasher.close();
  }
}
