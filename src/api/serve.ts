import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Context } from 'hono';
import type { Logger } from 'pino';
import { HttpError } from '../util/errors.js';
import { parseRange } from '../util/range.js';
import { SendfileUnsupportedError, sendFileResponse } from '../native/sendfile.js';
import type { Env } from './env.js';

/** Bytes to send for GET /file: a file descriptor (sendfile) or a stream, possibly still being written. */
export interface ByteSource {
  size: number;
  fd?: number;
  /** Set while the file is still being filled (cache): see SendFileOptions.available. */
  available?: (pos: number) => Promise<number>;
  stream?: (start: number, end: number) => NodeJS.ReadableStream;
  pipeTo?: (dst: NodeJS.WritableStream, start: number, end: number) => Promise<void>;
  close(): Promise<void>;
}

export interface ServeOptions {
  sendfile: boolean;
  log: Logger;
  checksum: string | null;
  requestId: string;
  imageId: string;
}

/**
 * Answers GET /file from `src`: Range → 206 with Content-Range, Content-MD5 of the whole image (as Glance),
 * sendfile(2) when there is an fd, a stream otherwise. A transfer that fails after the headers destroys the
 * socket, so the client never mistakes a short body for a complete one. Always closes `src`.
 */
export async function serveBytes(c: Context<Env>, src: ByteSource, o: ServeOptions): Promise<void> {
  let range;
  try {
    range = parseRange(c.req.header('range'), c.req.header('content-range'), src.size);
  } catch (e) {
    await src.close();
    throw e;
  }
  const start = range ? range.start : 0;
  const length = range ? range.end - range.start + 1 : src.size;
  const status = range ? 206 : 200;
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Content-Length': length,
    'x-openstack-request-id': o.requestId,
  };
  if (o.checksum) headers['Content-MD5'] = o.checksum;
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${src.size}`;
  const res = c.env.outgoing;
  try {
    if (o.sendfile && src.fd !== undefined) {
      try {
        await sendFileResponse(res, src.fd, start, length, { status, headers, available: src.available });
        return;
      } catch (e) {
        if (!(e instanceof SendfileUnsupportedError)) throw e;
      }
    }
    // Stream fallback (TLS, sendfile off, non-file stores). A still-filling file is awaited first.
    if (src.available && length > 0) await src.available(start + length - 1);
    res.writeHead(status, headers);
    if (length === 0) {
      res.end();
      return;
    }
    if (src.pipeTo && !src.available) {
      await src.pipeTo(res, start, start + length - 1);
      res.end();
      return;
    }
    const body = src.stream
      ? src.stream(start, start + length - 1)
      : fs.createReadStream('', { fd: src.fd!, start, end: start + length - 1, autoClose: false });
    await pipeline(body, res);
  } catch (e) {
    if (e instanceof HttpError && !res.headersSent) throw e;
    // Usually the client went away or the source failed; the socket is destroyed so it sees a failed transfer.
    o.log.debug({ err: e, image: o.imageId }, 'download ended early');
    if (!res.destroyed) res.destroy();
  } finally {
    await src.close();
  }
}
