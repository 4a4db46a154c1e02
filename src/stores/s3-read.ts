import type { Readable } from 'node:stream';
import { windowedReadable } from '../data/windowed.js';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

const RANGE_BYTES = 4 << 20; // RGW stores objects in 4 MiB stripes
const WINDOW = 4; // ranged GETs in flight per download
const ATTEMPTS = 3; // a range cut mid-body is fetched again (the SDK only retries before the body)

export interface RangeSource {
  client: S3Client;
  bucket: string;
  key: string;
  onError: (e: unknown) => void;
}

/** Bytes [at, at+len) of the object, fully read. */
export async function getRange(src: RangeSource, at: number, len: number, signal: AbortSignal): Promise<Buffer> {
  for (let attempt = 1; ; attempt++) {
    const r = await src.client.send(new GetObjectCommand({ Bucket: src.bucket, Key: src.key, Range: `bytes=${at}-${at + len - 1}` }), { abortSignal: signal });
    try {
      return await readBody(r.Body as Readable, len, `${at} of ${src.bucket}/${src.key}`);
    } catch (e) {
      (r.Body as Readable).destroy();
      if (signal.aborted || attempt >= ATTEMPTS) throw e;
    }
  }
}

async function readBody(body: Readable, len: number, what: string): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let off = 0;
  for await (const c of body) {
    if (off + c.length > len) throw new Error(`S3 sent more than the ${len} bytes asked for at ${what}`);
    (c as Buffer).copy(buf, off);
    off += c.length;
  }
  if (off !== len) throw Object.assign(new Error(`short S3 read at ${what}: ${off} of ${len} bytes`), { code: 'ESHORTREAD' });
  return buf;
}

/**
 * Streams [start, end) with up to WINDOW ranged GETs in flight, in order, with backpressure (windowedReadable);
 * destroying the stream cancels the GETs in flight.
 */
export function windowedRanges(src: RangeSource, start: number, end: number): Readable {
  const ac = new AbortController();
  return windowedReadable(
    { read: (at, len) => getRange(src, at, len, ac.signal), onError: (e) => src.onError(e), onDestroy: () => ac.abort() },
    start, end, RANGE_BYTES, WINDOW,
  );
}
