// The kernel socket behind a node:net Socket, for the native data path. Node keeps it in the private
// `_handle` (a TCPWrap); these are the only places that reach into it.
import type { Socket } from 'node:net';

export interface StreamHandle {
  fd?: unknown;
  writeQueueSize?: number;
  reading?: boolean;
  readStart?: () => number;
  readStop?: () => number;
}

export function handleOf(sock: Socket): StreamHandle | null | undefined {
  return (sock as unknown as { _handle?: StreamHandle | null })._handle;
}

/** The kernel fd behind a plain TCP socket; undefined for TLS, pipes-in-JS, destroyed sockets. */
export function rawFd(sock: Socket): number | undefined {
  if ((sock as { encrypted?: boolean }).encrypted) return undefined;
  const fd = handleOf(sock)?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

/**
 * Stops Node from ever reading `sock` again, so the native side can recv(2) the rest of a request body.
 * Node's HTTP parser reads straight from the handle (and restarts reading whenever the request stream or
 * the socket is resumed), so the handle's readStart becomes a no-op. The connection must be closed after
 * the response: the parser never sees the end of that body. false if the socket is not a plain TCP one.
 */
export function takeOverReads(sock: Socket): boolean {
  const h = handleOf(sock);
  if (!h || rawFd(sock) === undefined || typeof h.readStop !== 'function') return false;
  h.readStop();
  h.reading = false;
  h.readStart = () => 0;
  return true;
}
