// Where an upload's bytes come from: a Node stream (any body, any source), or — for a large request body
// on a plain TCP socket, with a Content-Length or in chunked transfer coding — the socket itself, read with
// recv(2) straight into the ingest's slots (no 64 KiB Buffer per read, no copy, no GC: about a third of an
// upload's CPU). Chunked bodies are decoded natively (native/chunked.cc) and must be claimed from Node's
// parser as their request arrives (claimChunkedBody).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { tryLoadNative, type ChunkedBodyHandle, type NativeBinding } from '../native/binding.js';
import { headRest, rawFd, takeOverReads } from '../native/socket.js';
import { HttpError, badRequest } from '../util/errors.js';

/** The client went away before the body ended. */
export class ClientAbortError extends Error {}

export interface BodySource {
  /** Fills `buf` from its start; resolves with the count, smaller than buf.length only when the body ended. */
  fill(buf: Uint8Array): Promise<number>;
  /** Stops reading; a fill in progress rejects with `why`. */
  stop(why: Error): void;
}

/** Bodies smaller than this stay on Node's stream: taking the socket over costs the connection's keep-alive. */
export const SOCKET_BODY_MIN_BYTES = 8 << 20;
/** A client that sends nothing for this long is dropped (the native read has its own clock). */
const RECV_PROGRESS_TIMEOUT_MS = 120_000;

/** A body read from a Node stream ('data' events copied into the caller's buffer). */
export function streamBody(src: Readable): BodySource {
  let leftover: Buffer | null = null;
  let ended = false;
  let error: Error | null = null;
  let waiter: { buf: Uint8Array; got: number; resolve: (n: number) => void; reject: (e: Error) => void } | null = null;

  const take = (chunk: Buffer): Buffer | null => {
    const w = waiter!;
    const n = Math.min(chunk.length, w.buf.length - w.got);
    w.buf.set(n === chunk.length ? chunk : chunk.subarray(0, n), w.got);
    w.got += n;
    return n < chunk.length ? chunk.subarray(n) : null;
  };
  const finish = () => {
    const w = waiter!;
    waiter = null;
    if (error) w.reject(error);
    else w.resolve(w.got);
  };
  const fail = (e: Error) => {
    error ??= e;
    src.pause();
    if (waiter) finish();
  };

  src.on('data', (chunk: Buffer) => {
    if (!waiter) {
      leftover = leftover ? Buffer.concat([leftover, chunk]) : chunk;
      src.pause();
      return;
    }
    leftover = take(chunk);
    if (waiter.got === waiter.buf.length) {
      src.pause();
      finish();
    }
  });
  src.on('end', () => {
    ended = true;
    if (waiter) finish();
  });
  src.on('close', () => {
    if (!ended) fail(new ClientAbortError('client closed the connection before the image data ended'));
  });
  src.on('error', (e) => fail(e instanceof HttpError ? e : new ClientAbortError(`upload stream failed: ${e.message}`)));
  src.pause();

  return {
    fill(buf) {
      if (error) return Promise.reject(error);
      if (waiter) return Promise.reject(new Error('streamBody: one fill at a time'));
      return new Promise<number>((resolve, reject) => {
        waiter = { buf, got: 0, resolve, reject };
        if (leftover) leftover = take(leftover);
        if (waiter.got === buf.length || ended) return finish();
        src.resume();
      });
    },
    stop: fail,
  };
}

/**
 * The rest of `req`'s body read natively from its socket, or null when that does not apply (small body, a
 * chunked one not claimed, TLS, no addon): then use streamBody. After this the connection closes once the
 * answer is sent.
 */
export function socketBody(req: IncomingMessage): BodySource | null {
  const chunked = claimed.get(req);
  if (chunked) return chunked;
  const native = tryLoadNative();
  if (!native || typeof native.recvStart !== 'function') return null;
  if (req.headers['transfer-encoding'] !== undefined) return null;
  const length = Number(req.headers['content-length']);
  if (!Number.isSafeInteger(length) || length < SOCKET_BODY_MIN_BYTES) return null;
  if (req.complete || req.readableEnded || req.readableFlowing) return null;
  const fd = rawFd(req.socket);
  if (fd === undefined || !takeOverReads(req.socket)) return null;
  // What the parser already pushed into the request stream comes first; nothing more can arrive there now.
  const prefix: Buffer[] = [];
  let buffered = 0;
  for (let c: Buffer | null; (c = req.read() as Buffer | null) !== null; ) {
    prefix.push(c);
    buffered += c.length;
  }
  const body = new SocketBody(native, fd, prefix, length - buffered);
  // Node destroyed the connection (drain at stop): the native receive must not go on with its own fd
  req.socket.once('close', () => body.stop(new ClientAbortError('the connection was closed before the image data ended')));
  return body;
}

class SocketBody implements BodySource {
  private id = 0;
  private stopped: Error | null = null;
  constructor(
    private native: NativeBinding,
    private fd: number,
    private prefix: Buffer[],
    private remaining: number,
  ) {}

  async fill(buf: Uint8Array): Promise<number> {
    if (this.stopped) throw this.stopped;
    let n = 0;
    while (n < buf.length && this.prefix.length > 0) {
      const c = this.prefix[0];
      const k = Math.min(c.length, buf.length - n);
      buf.set(c.subarray(0, k), n);
      n += k;
      if (k === c.length) this.prefix.shift();
      else this.prefix[0] = c.subarray(k);
    }
    const want = Math.min(buf.length - n, this.remaining);
    if (want > 0) {
      const got = await this.recv(buf, n, want);
      this.remaining -= got;
      n += got;
      if (got < want) throw new ClientAbortError(`client closed the connection with ${this.remaining} bytes of the image data still to come`);
    }
    return n;
  }

  private recv(buf: Uint8Array, off: number, len: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const id = this.native.recvStart(this.fd, buf, off, len, RECV_PROGRESS_TIMEOUT_MS, (err, n) => {
        this.id = 0;
        if (this.stopped) reject(this.stopped);
        else if (err) reject(new ClientAbortError(`upload stream failed: ${err.message}`));
        else resolve(n);
      });
      this.id = id;
    });
  }

  stop(why: Error): void {
    this.stopped ??= why;
    if (this.id) this.native.recvAbort(this.id);
  }
}

/** Requests whose bodies can go straight into the ingest: image data and staging uploads. */
const UPLOAD_PATH = /^\/v2\/images\/[^/?]+\/(?:file|stage)(?:\?|$)/;
const claimed = new WeakMap<IncomingMessage, ChunkedSocketBody>();
const claimedSockets = new WeakSet<object>();

/**
 * Whether a request on this connection had its chunked body claimed: Node's parser still decodes what came
 * with the head, and a framing error it finds there is for the claimed body's reader to answer (400 naming
 * the problem, once the upload has unwound), not for the server's clientError handler.
 */
export function claimedSocket(sock: object): boolean {
  return claimedSockets.has(sock);
}

/**
 * Takes a chunked upload body away from Node's HTTP parser so socketBody can decode it natively. Must run
 * synchronously in the server's 'request' event, before the parser goes on with the body (later its
 * position in the chunk framing is lost). Claimed: PUT .../file or .../stage in `Transfer-Encoding: chunked`
 * alone, not announced below SOCKET_BODY_MIN_BYTES, whose body did not all come with the head (those stay on
 * the stream and keep the connection alive). A claimed request's connection closes after its answer (the
 * parser never sees the body's end), whether the body is read or refused. Returns whether it claimed.
 */
export function claimChunkedBody(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'PUT' || !UPLOAD_PATH.test(req.url ?? '')) return false;
  if (claimedSockets.has(req.socket)) return false; // a pipelined request behind a claimed one: never read
  if (req.headers['transfer-encoding']?.trim().toLowerCase() !== 'chunked') return false;
  const announced = Number(req.headers['x-openstack-image-size']);
  if (req.headers['x-openstack-image-size'] !== undefined && announced < SOCKET_BODY_MIN_BYTES) return false;
  const native = tryLoadNative();
  if (!native || typeof native.chunkedOpen !== 'function') return false;
  const fd = rawFd(req.socket);
  const rest = fd === undefined ? null : headRest(req);
  if (rest === null) return false;
  const seen = native.chunkedDecode(rest);
  if (seen.end >= 0) return false; // all there: Node's parser delivers it and the connection stays open
  if (!takeOverReads(req.socket)) return false;
  const body = new ChunkedSocketBody(native, native.chunkedOpen(fd!, rest));
  claimed.set(req, body);
  claimedSockets.add(req.socket);
  res.shouldKeepAlive = false;
  // Answered, or the connection was destroyed (drain at stop): a receive still waiting on the client ends.
  res.once('close', () => body.abandon());
  return true;
}

/** A claimed chunked body, decoded natively into the caller's buffers. */
class ChunkedSocketBody implements BodySource {
  private id = 0;
  private stopped: Error | null = null;
  private ended = false;
  constructor(
    private native: NativeBinding,
    private handle: ChunkedBodyHandle,
  ) {}

  fill(buf: Uint8Array): Promise<number> {
    if (this.stopped) return Promise.reject(this.stopped);
    if (this.ended) return Promise.resolve(0);
    return new Promise<number>((resolve, reject) => {
      const id = this.native.chunkedRecv(this.handle, buf, 0, buf.length, RECV_PROGRESS_TIMEOUT_MS, (err, n) => {
        this.id = 0;
        if (this.stopped) return reject(this.stopped);
        if (err) {
          this.close();
          if (err.code === 'EBADCHUNK') reject(badRequest(`Malformed chunked image data: ${err.message}`));
          else reject(new ClientAbortError(`upload stream failed: ${err.message}`));
          return;
        }
        if (n < buf.length) {
          this.ended = true;
          this.close();
        }
        resolve(n);
      });
      this.id = id;
    });
  }

  stop(why: Error): void {
    this.stopped ??= why;
    if (this.id) this.native.recvAbort(this.id);
  }

  /** Lets the connection go (our dup of its fd): a receive in flight holds its own until it settles, and what was read still decodes. */
  close(): void {
    this.native.chunkedClose(this.handle);
  }

  /** The request's connection is gone: nothing more will be read. */
  abandon(): void {
    if (!this.ended) this.stop(new ClientAbortError('the connection was closed before the image data ended'));
    this.close();
  }
}
