// The kernel socket behind a node:net Socket, for the native data path. Node keeps it in the private
// `_handle` (a TCPWrap), and an HTTP connection's parser in `socket.parser`; these are the only places that
// reach into them.
import type { IncomingMessage } from 'node:http';
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

/**
 * The raw bytes that followed `req`'s head in the read Node's HTTP parser is working on: the start of its body
 * as sent on the wire, which the parser decodes after the 'request' event (its decoded form cannot tell where
 * in the framing the parser stopped). Only valid synchronously inside the 'request' event. null unless the
 * read starts with this very head (request line and header lines as parsed, all ending in CRLF), so that
 * where the body starts is certain.
 */
export function headRest(req: IncomingMessage): Buffer | null {
  const parser = (req.socket as unknown as { parser?: { getCurrentBuffer?: () => Buffer } | null }).parser;
  if (typeof parser?.getCurrentBuffer !== 'function') return null;
  const buf = parser.getCurrentBuffer();
  if (!Buffer.isBuffer(buf)) return null;
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  if (lines.some((l) => l.includes('\n') || l.includes('\r'))) return null; // a bare CR or LF: llhttp's leniency
  if (lines[0] !== `${req.method} ${req.url} HTTP/${req.httpVersion}`) return null;
  const raw = req.rawHeaders;
  if (lines.length - 1 !== raw.length / 2) return null;
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon < 0 || lines[i].slice(0, colon) !== raw[2 * i - 2] || lines[i].slice(colon + 1).trim() !== raw[2 * i - 1]) return null;
  }
  return buf.subarray(end + 4);
}
