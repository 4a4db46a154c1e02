// Range reads of one Swift object (plain or DLO/SLO manifest). A response that ends early or stalls is
// resumed with a Range from the byte reached, up to swift_store_retry_get_count times per stream (glance's rule).
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { DataNotFoundError } from './types.js';
import { SwiftHttpError, type SwiftClient } from './swift-client.js';

const STALL_MS = 60_000; // no byte for this long while we want some: the read is dead
const CHECK_MS = 5_000;

export interface SwiftReadOptions {
  client: SwiftClient;
  path: string;
  /** the object's size, so a whole-object read sends no Range */
  size: number;
  start: number;
  /** inclusive */
  end: number;
  retries: number;
  onFailure(e: unknown): void;
  log: Logger;
}

export function swiftReadStream(o: SwiftReadOptions): Readable {
  const end = Math.min(o.end, o.size - 1);
  let pos = o.start;
  let retriesLeft = o.retries;
  let res: IncomingMessage | null = null;
  let fetching = false;

  const stream = new Readable({
    highWaterMark: 1 << 20,
    read() {
      if (res) res.resume();
      else if (!fetching) void fetch();
    },
    destroy(err, cb) {
      res?.destroy();
      res = null;
      cb(err);
    },
  });
  if (pos > end) {
    stream.push(null);
    return stream;
  }

  const fetch = async () => {
    fetching = true;
    try {
      const whole = pos === 0 && end === o.size - 1;
      const r = await o.client.get(o.path, whole ? {} : { Range: `bytes=${pos}-${end}` });
      if (stream.destroyed) {
        r.destroy();
        return;
      }
      if (r.statusCode === 404) {
        r.resume();
        throw new DataNotFoundError(`the object ${decodeURI(o.path)} is gone`);
      }
      if (r.statusCode !== 200 && r.statusCode !== 206) {
        r.resume();
        throw new SwiftHttpError(r.statusCode!, `GET ${decodeURI(o.path)}: Swift answered HTTP ${r.statusCode}`);
      }
      attach(r, r.statusCode === 200 ? pos : 0); // a 200 to a Range request starts at byte 0
    } catch (e) {
      retryOrFail(e);
    } finally {
      fetching = false;
    }
  };

  const attach = (r: IncomingMessage, skipFirst: number) => {
    res = r;
    let skip = skipFirst;
    let settled = false;
    let lastByte = Date.now();
    const watchdog = setInterval(() => {
      if (!r.isPaused() && Date.now() - lastByte > STALL_MS) r.destroy(Object.assign(new Error(`no data from Swift for ${STALL_MS / 1000} s`), { code: 'ESWIFTTIMEOUT' }));
    }, CHECK_MS).unref();
    const settle = (e: Error | null) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      if (res === r) res = null;
      if (stream.destroyed) return;
      if (pos > end) stream.push(null);
      else retryOrFail(e ?? new Error(`Swift ended the body at byte ${pos} of ${end + 1}`));
    };
    r.on('data', (d: Buffer) => {
      lastByte = Date.now();
      if (settled || stream.destroyed) return;
      if (skip > 0) {
        const n = Math.min(skip, d.length);
        skip -= n;
        d = d.subarray(n);
      }
      const extra = d.length > end + 1 - pos;
      if (extra) d = d.subarray(0, end + 1 - pos);
      if (d.length === 0) return;
      pos += d.length;
      if (!stream.push(d)) r.pause();
      if (pos > end) {
        settle(null);
        if (extra) r.destroy(); // the rest is not ours
        else r.resume(); // drain to the end so the keep-alive socket is reused
      }
    });
    r.on('end', () => settle(null));
    r.on('error', (e) => settle(e));
    r.on('close', () => settle(r.complete ? null : new Error('the connection to Swift closed mid-body')));
  };

  const retryOrFail = (e: unknown) => {
    if (stream.destroyed) return;
    if (retriesLeft > 0 && !(e instanceof DataNotFoundError)) {
      retriesLeft--;
      o.log.info({ path: o.path, from: pos, err: (e as Error).message, left: retriesLeft }, 'swift read failed; resuming');
      void fetch();
      return;
    }
    o.onFailure(e);
    stream.destroy(e as Error);
  };

  return stream;
}
