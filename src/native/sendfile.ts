// Zero-copy HTTP response bodies: sendfile(2) from an open file straight into
// the response's TCP socket (native/socket_io.cc), bypassing Node's streams.
//
// Sequence (node:http ServerResponse; Hono passes it as c.env.outgoing):
//  1. wait for res.socket (never req.socket: with keep-alive a pipelined
//     response is queued with res.socket === null until the previous one ends)
//  2. writeHead(status, headers + Content-Length) and flushHeaders()
//  3. wait until Node has nothing buffered for the socket
//  4. native send on the socket's fd; res.end() (writes nothing more: the
//     Content-Length is satisfied, keep-alive keeps working)
// On failure after the headers went out the socket is destroyed, so the client
// sees a truncated transfer and never a complete-looking short body.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { nativeLoadError, tryLoadNative, type NativeBinding, type NativeSendError } from './binding.js';
import { handleOf, rawFd } from './socket.js';

export interface SendFileOptions {
  /** HTTP status, default 200. */
  status?: number;
  /** Extra headers. Content-Length is always set to `length`; Transfer-Encoding is dropped. */
  headers?: Record<string, string | number>;
  /** Abort (ETIMEDOUT) when no byte could be sent for this long. Default 120 000; 0 disables. */
  progressTimeoutMs?: number;
  /**
   * POSIX_FADV_WILLNEED window kept ahead of the send position by threadpool
   * jobs, so the event-loop-driven sendfile mostly hits the page cache.
   * Default 8 MiB; 0 disables.
   */
  readaheadBytes?: number;
  /**
   * For a file still being written (a cache fill): resolves with how far the file is written, a number
   * greater than `pos` (or the end); rejects when the file will never be complete, which fails the transfer.
   * The body is then sent in segments as bytes land. Without it the whole range must already be there.
   */
  available?: (pos: number) => Promise<number>;
}

/** Thrown before anything was written: the caller should fall back to streaming. */
export class SendfileUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SendfileUnsupportedError';
  }
}

/** Error a failed transfer rejects with (code: ECONNRESET, EPIPE, ESHORTFILE, ETIMEDOUT, ABORT_ERR, ...). */
export type SendFileError = NativeSendError;

export const DEFAULT_PROGRESS_TIMEOUT_MS = 120_000;
export const DEFAULT_READAHEAD_BYTES = 8 << 20;

/** false if the addon can't load: callers fall back to streams. */
export function sendfileAvailable(): boolean {
  return tryLoadNative() !== undefined;
}

/** Sets how many sender threads carry downloads (null: the default); returns the count in effect, or 0. */
export function setSendThreads(n: number | null): number {
  return tryLoadNative()?.sendfileSetThreads(n ?? -1) ?? 0;
}

/** Sends started from now on keep the socket corked until they end ([imaged] tcp_nopush). */
export function setSendNopush(on: boolean): void {
  tryLoadNative()?.sendfileSetNopush(on);
}

/** Transfers currently in flight on this thread (0 if the addon is unavailable). */
export function sendfileActiveCount(): number {
  return tryLoadNative()?.sendfileActive() ?? 0;
}

function nothingBuffered(sock: Socket): boolean {
  return sock.writableLength === 0 && !sock.writableCorked && (handleOf(sock)?.writeQueueSize ?? 0) === 0;
}

function checkUint(v: number, name: string, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`sendFileResponse: ${name} must be an integer in [0, ${max}], got ${v}`);
  }
}

function requireBinding(): NativeBinding {
  const b = tryLoadNative();
  if (!b) {
    const why = nativeLoadError();
    throw new SendfileUnsupportedError(
      `sendfile: native addon unavailable (${why instanceof Error ? why.message : String(why)})`,
    );
  }
  return b;
}

function waitForSocket(res: ServerResponse): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // A queued (pipelined) response gets its socket when the previous response
    // finishes; if the connection dies first, res itself may never emit
    // 'close', so watch the request's socket too.
    const conn = res.req?.socket;
    const closed = () =>
      new Error('sendFileResponse: connection closed before the response could be sent');
    if (res.destroyed || conn?.destroyed) {
      reject(closed());
      return;
    }
    const cleanup = () => {
      res.off('socket', onSocket);
      res.off('close', onClose);
      conn?.off('close', onClose);
    };
    const onSocket = (s: Socket) => {
      cleanup();
      resolve(s);
    };
    const onClose = () => {
      cleanup();
      if (res.socket) resolve(res.socket);
      else reject(closed());
    };
    res.once('socket', onSocket);
    res.once('close', onClose);
    conn?.once('close', onClose);
  });
}

/** Waits for `p`, but gives up when the client's socket closes meanwhile. */
function untilClosed<T>(sock: Socket, p: Promise<T>): Promise<T> {
  if (sock.destroyed) return Promise.reject(new Error('sendFileResponse: socket closed while waiting for data'));
  return new Promise<T>((resolve, reject) => {
    const onClose = () => reject(new Error('sendFileResponse: socket closed while waiting for data'));
    sock.once('close', onClose);
    p.then(
      (v) => {
        sock.off('close', onClose);
        resolve(v);
      },
      (e) => {
        sock.off('close', onClose);
        reject(e);
      },
    );
  });
}

/** Resolves once every byte Node had buffered for `sock` has been handed to the kernel. */
async function drain(sock: Socket): Promise<void> {
  for (let i = 0; i < 8 && !nothingBuffered(sock); i++) {
    if (sock.destroyed) throw new Error('sendFileResponse: socket destroyed');
    await new Promise<void>((resolve, reject) => {
      sock.write('', (err) => (err ? reject(err) : resolve()));
    });
  }
  if (!nothingBuffered(sock)) throw new Error('sendFileResponse: socket write buffer did not drain');
}

function headersWithLength(
  headers: Record<string, string | number> | undefined,
  length: number,
): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const lk = k.toLowerCase();
    if (lk === 'content-length' || lk === 'transfer-encoding') continue;
    out[k] = v;
  }
  out['Content-Length'] = length;
  return out;
}

/**
 * Sends bytes [offset, offset+length) of the open file `fd` as the whole HTTP
 * response body. Resolves when every byte is in the kernel; rejects (after
 * destroying the socket) otherwise. Never closes `fd` (the caller owns it; it
 * must stay open until the promise settles). length 0 → just headers + end.
 *
 * Throws SendfileUnsupportedError, before anything is written, when the addon
 * is missing or the socket has no raw fd (TLS): fall back to streaming.
 * Rejections after the headers went out carry `code` and `bytesSent`.
 */
export async function sendFileResponse(
  res: ServerResponse,
  fd: number,
  offset: number,
  length: number,
  opts: SendFileOptions = {},
): Promise<void> {
  checkUint(fd, 'fd', 0x7fffffff);
  checkUint(offset, 'offset');
  checkUint(length, 'length');
  const status = opts.status ?? 200;
  const progressTimeoutMs = opts.progressTimeoutMs ?? DEFAULT_PROGRESS_TIMEOUT_MS;
  const readaheadBytes = opts.readaheadBytes ?? DEFAULT_READAHEAD_BYTES;
  checkUint(progressTimeoutMs, 'progressTimeoutMs', 0xffffffff);
  checkUint(readaheadBytes, 'readaheadBytes');
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new RangeError(`sendFileResponse: bad status ${status}`);
  }
  if (length > 0 && (status < 200 || status === 204 || status === 304)) {
    throw new RangeError(`sendFileResponse: status ${status} cannot carry a body`);
  }
  if (res.headersSent || res.writableEnded) {
    throw new Error('sendFileResponse: response already started');
  }
  const headOnly = res.req?.method === 'HEAD';
  const withBody = length > 0 && !headOnly;
  const binding = withBody ? requireBinding() : undefined;

  const sock = res.socket ?? (await waitForSocket(res));
  if (binding && rawFd(sock) === undefined) {
    throw new SendfileUnsupportedError('sendfile: response socket has no raw fd (TLS or not a TCP socket)');
  }
  if (res.headersSent || res.writableEnded) {
    throw new Error('sendFileResponse: response already started');
  }

  res.removeHeader('transfer-encoding');
  res.removeHeader('content-length');
  res.writeHead(status, headersWithLength(opts.headers, length));
  if (!binding) {
    res.end();
    return;
  }
  res.flushHeaders();

  const prevTimeout = (sock as { timeout?: number }).timeout;
  sock.setTimeout(0);
  let id = 0;
  const onClose = () => {
    if (id !== 0) binding.sendfileAbort(id);
  };
  const sendSegment = (segOffset: number, segLength: number) =>
    new Promise<void>((resolve, reject) => {
      // Re-read the fd now, synchronously before the dup: if the socket was
      // destroyed meanwhile its fd number may already belong to someone else.
      const segFd = rawFd(sock);
      if (sock.destroyed || segFd === undefined) {
        reject(new Error('sendFileResponse: socket closed before the body could be sent'));
        return;
      }
      let settled = false;
      const started = binding.sendfileStart(
        segFd,
        fd,
        segOffset,
        segLength,
        progressTimeoutMs,
        readaheadBytes,
        (err, bytesSent) => {
          settled = true;
          id = 0;
          res.off('close', onClose);
          sock.off('close', onClose);
          if (err) {
            if (typeof err.bytesSent !== 'number') err.bytesSent = bytesSent;
            reject(err);
          } else {
            resolve();
          }
        },
      );
      if (!settled) {
        id = started;
        res.once('close', onClose);
        sock.once('close', onClose);
      }
    });
  try {
    await drain(sock);
    const end = offset + length;
    let pos = offset;
    while (pos < end) {
      let segEnd = end;
      if (opts.available) {
        segEnd = Math.min(end, await untilClosed(sock, opts.available(pos)));
        if (segEnd <= pos) throw new Error(`sendFileResponse: no progress at ${pos}`);
      }
      await sendSegment(pos, segEnd - pos);
      pos = segEnd;
    }
  } catch (err) {
    sock.destroy();
    throw err;
  } finally {
    res.off('close', onClose);
    sock.off('close', onClose);
    if (prevTimeout && !sock.destroyed) sock.setTimeout(prevTimeout);
  }
  // Node did not see the body bytes: with strictContentLength it would throw
  // a (false) length mismatch. Every promised byte is in the kernel.
  res.strictContentLength = false;
  res.end();
}
