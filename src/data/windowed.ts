import { Readable } from 'node:stream';

export interface WindowedSource {
  /** Reads `len` bytes at `at` (a store read: an aio read, a ranged GET). */
  read(at: number, len: number): Promise<Buffer>;
  /** Called once with the first failure, before the stream is destroyed with it. */
  onError?(e: unknown): void;
  /** Called when the stream is destroyed early (cancel reads in flight). */
  onDestroy?(): void;
}

/**
 * Streams [start, end) with up to `window` reads of `chunk` bytes in flight, emitting them in order. Reading
 * stops while the consumer (the client socket) is not draining, so a slow client holds at most the window.
 */
export function windowedReadable(src: WindowedSource, start: number, end: number, chunk: number, window: number): Readable {
  let next = start;
  const inflight: Array<Promise<Buffer>> = [];
  let wanted = false;
  let pumping = false;
  const issue = () => {
    while (inflight.length < window && next < end) {
      const at = next;
      const len = Math.min(chunk, end - at);
      next += len;
      const p = src.read(at, len);
      p.catch(() => {}); // observed in order by pump()
      inflight.push(p);
    }
  };
  const stream = new Readable({
    highWaterMark: chunk,
    read() {
      wanted = true;
      void pump();
    },
    destroy(err, cb) {
      next = end; // issue nothing more; reads in flight finish into buffers nobody reads
      src.onDestroy?.();
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
        src.onError?.(e);
        stream.destroy(e as Error);
      }
    } finally {
      pumping = false;
    }
  };
  return stream;
}
