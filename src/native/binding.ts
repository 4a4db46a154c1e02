// Loader for the imaged_native addon (build/Release/imaged_native.node).
// The relative depth is the same from src/native/ (tsx) and dist/native/ (tsc).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ADDON_PATH = '../../build/Release/imaged_native.node';

/** sendfile(2)/recv(2) data path (native/socket_io.cc). */
export interface SendfileBinding {
  /**
   * Starts sending [offset, offset+length) of fileFd to sockFd. `cb` is called
   * exactly once, possibly synchronously. Returns the transfer id, or 0 when
   * cb has already been called. Throws only on bad arguments / dup failure.
   */
  sendfileStart(
    sockFd: number,
    fileFd: number,
    offset: number,
    length: number,
    progressTimeoutMs: number,
    readaheadBytes: number,
    cb: (err: NativeSendError | null, bytesSent: number) => void,
  ): number;
  /** Shuts the socket down and settles transfer `id` with ABORT_ERR. false if not in flight. */
  sendfileAbort(id: number): boolean;
  /** Transfers in flight in this thread. */
  sendfileActive(): number;
  /**
   * Sender threads for downloads: n >= 0, or -1 for the default (IMAGED_SEND_THREADS, else min(4, CPUs)).
   * Takes effect while no thread has started yet; returns the count in effect.
   */
  sendfileSetThreads(n: number): number;
  /** TCP_CORK on each send until it ends (nginx's tcp_nopush); applies to sends started afterwards. */
  sendfileSetNopush(on: boolean): boolean;
  /**
   * Reads from sockFd into buffer[offset, offset+length) until full or EOF. `cb` is called exactly once,
   * possibly synchronously, with the count (< length only at EOF). Returns the transfer id (abort it with
   * sendfileAbort), or 0 when cb has already been called.
   */
  recvStart(
    sockFd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    progressTimeoutMs: number,
    cb: (err: NativeSendError | null, bytesRead: number) => void,
  ): number;
  /** Stops receive `id` (no shutdown: the connection stays usable for the answer); cb gets ABORT_ERR. */
  recvAbort(id: number): boolean;
  /**
   * A chunked request body on sockFd (dup'd until chunkedClose or GC); `prefix` is the raw body bytes that
   * came with the request's head, decoded first.
   */
  chunkedOpen(sockFd: number, prefix: Uint8Array): ChunkedBodyHandle;
  /**
   * Fills buffer[offset, offset+length) with decoded chunk data, like recvStart; the count is < length only
   * once the body ended (last chunk and trailers read). Errors also EBADCHUNK (malformed framing) and EARLYEOF
   * (the peer closed before the last chunk). One at a time per body; abort with recvAbort.
   */
  chunkedRecv(
    body: ChunkedBodyHandle,
    buffer: Uint8Array,
    offset: number,
    length: number,
    progressTimeoutMs: number,
    cb: (err: NativeSendError | null, bytesRead: number) => void,
  ): number;
  /** Closes the body's own fd (a receive in flight keeps its own until it settles). */
  chunkedClose(body: ChunkedBodyHandle): void;
}

/** Opaque native state of a chunked body being read. */
export type ChunkedBodyHandle = { readonly __chunkedBody: unique symbol };

/** HTTP/1.1 chunked transfer coding (native/chunked.cc). */
export interface ChunkedBinding {
  /**
   * Decodes a chunked body held in memory: the payload, the index just past the body's end (-1 when more
   * input is needed) and why the framing is malformed (null when it is not).
   */
  chunkedDecode(bytes: Uint8Array): { data: Buffer; end: number; error: string | null };
}

export interface NativeSendError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  bytesSent: number;
}

/** Memory helpers (native/memory.cc). */
export interface MemoryBinding {
  /** Bytes to skip from the view's start so its data address is a multiple of `alignment`. */
  alignOffset(view: Uint8Array, alignment: number): number;
}

/** Everything the addon exports. Other native modules: extend with `&`. */
export type NativeBinding = SendfileBinding & MemoryBinding & ChunkedBinding;

let cached: NativeBinding | undefined;
let loadError: unknown;

/** Loads the addon once; throws the (cached) load error if it cannot be loaded. */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  if (loadError !== undefined) throw loadError;
  try {
    cached = require(ADDON_PATH) as NativeBinding;
    return cached;
  } catch (err) {
    loadError = err;
    throw err;
  }
}

/** The addon, or undefined if it cannot be loaded (callers fall back to pure JS). */
export function tryLoadNative(): NativeBinding | undefined {
  try {
    return loadNative();
  } catch {
    return undefined;
  }
}

/** Why the addon failed to load, if it did. */
export function nativeLoadError(): unknown {
  tryLoadNative();
  return loadError;
}
