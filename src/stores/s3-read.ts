import { Readable } from 'node:stream';
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
 * Streams [start, end) with up to WINDOW ranged GETs in flight, emitting them in order. Fetching stops while
 * the consumer (the client socket) is not draining, so a slow client holds at most the window in memory;
 * destroying the stream cancels the GETs in flight.
 */
export function windowedRanges(src: RangeSource, start: number, end: number): Readable {
  let next = start;
  const inflight: Array<Promise<Buffer>> = [];
  const ac = new AbortController();
  let wanted = false;
  let pumping = false;
  const issue = () => {
    while (inflight.length < WINDOW && next < end) {
      const at = next;
      const len = Math.min(RANGE_BYTES, end - at);
      next += len;
      const p = getRange(src, at, len, ac.signal);
      p.catch(() => {}); // observed in order by pump()
      inflight.push(p);
    }
  };
  const stream = new Readable({
    highWaterMark: RANGE_BYTES,
    read() {
      wanted = true;
      void pump();
    },
    destroy(err, cb) {
      next = end;
      ac.abort();
      cb(err);
    },
  });
  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      while (wanted && !stream.destroyed) {
        issue();
        const p = inflight.shift();
        if (!p) {
          stream.push(null);
          return;
        }
        const buf = await p;
        if (stream.destroyed) return;
        wanted = stream.push(buf);
      }
      issue(); // keep the window full while the consumer catches up
    } catch (e) {
      if (!stream.destroyed) {
        src.onError(e);
        stream.destroy(e as Error);
      }
    } finally {
      pumping = false;
    }
  };
  return stream;
}
