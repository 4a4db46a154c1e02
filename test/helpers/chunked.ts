// Chunked transfer coding for tests: a seeded random source, an encoder that can split the same bytes into
// chunks any way, and a raw-socket client that sends an encoded body in pieces of any size.
import net from 'node:net';

/** mulberry32: the same seed gives the same sequence (fuzz cases are reproducible). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Malformed bodies (after `ok`, a valid start) and a word of the reason each must give. */
export const MALFORMED: [string, string, RegExp][] = [
  ['bad hex', 'zz\r\nab\r\n0\r\n\r\n', /hexadecimal/],
  ['empty chunk-size line', '\r\n', /hexadecimal/],
  ['size line past 4096 bytes', `10;${'e'.repeat(5000)}\r\n`, /longer than 4096/],
  ['bare LF after the size', '5\nhello\r\n0\r\n\r\n', /without CRLF/],
  ['CR not followed by LF', '5\rxhello\r\n0\r\n\r\n', /without CRLF/],
  ['data longer than its size', '5\r\nhelloXY\r\n0\r\n\r\n', /not followed by CRLF/],
  ['chunk size past 2^53', '20000000000000\r\n', /too large/],
  ['junk after size and space', '5 x\r\nhello\r\n0\r\n\r\n', /after the chunk size/],
  ['trailers past 16 KiB', `0\r\nX-Big: ${'t'.repeat(17000)}\r\n\r\n`, /trailer section/],
  ['trailer line with bare LF', '0\r\nX-A: 1\n\r\n', /trailer line/],
  ['last CRLF missing its LF', '0\r\n\rX', /does not end with CRLF/],
];

export const randInt = (rnd: () => number, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));

export interface Encoding {
  bytes: Buffer;
  /** Offsets of the framing's CR and LF bytes (changing any one of them breaks the framing). */
  crlf: number[];
}

/** `data` as a chunked body, cut into chunks of `sizes` (repeated as needed) with optional extensions/trailers. */
export function encodeChunked(data: Buffer, sizes: number[], o: { ext?: (i: number) => string; trailers?: string[]; upper?: boolean } = {}): Encoding {
  const parts: Buffer[] = [];
  const crlf: number[] = [];
  let at = 0;
  const push = (b: Buffer | string, crlfAt: number[] = []) => {
    const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
    for (const c of crlfAt) crlf.push(at + c);
    parts.push(buf);
    at += buf.length;
  };
  const line = (s: string) => push(`${s}\r\n`, [s.length, s.length + 1]);
  let i = 0;
  for (let off = 0; off < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length], data.length - off);
    const hex = n.toString(16);
    line((o.upper ? hex.toUpperCase() : hex) + (o.ext?.(i) ?? ''));
    push(data.subarray(off, off + n));
    line('');
    off += n;
  }
  line('0' + (o.ext?.(i) ?? ''));
  for (const t of o.trailers ?? []) line(t);
  line('');
  return { bytes: Buffer.concat(parts), crlf };
}

/** Random chunk sizes in [lo, hi]. */
export const randomSizes = (rnd: () => number, count: number, lo: number, hi: number) => Array.from({ length: count }, () => randInt(rnd, lo, hi));

export interface RawReply {
  status: number;
  head: string;
  body: string;
  /** The answer's Connection header. */
  connection: string | undefined;
  /** The server closed the connection (within 200 ms of its answer). */
  closed: boolean;
}

/**
 * Sends `head` then `body` on a raw connection in random pieces (some after a pause, so they arrive as
 * separate reads), optionally ending the stream early after `endAfter` body bytes; resolves with the answer.
 */
export async function sendRaw(url: string, head: string, body: Buffer, rnd: () => number, o: { firstWithHead?: number; endAfter?: number; maxPiece?: number } = {}): Promise<RawReply> {
  const { hostname, port } = new URL(url);
  const sock = net.connect(Number(port), hostname);
  await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
  let got = Buffer.alloc(0);
  let closed = false;
  sock.on('data', (d) => (got = Buffer.concat([got, d])));
  sock.on('error', () => {}); // a reset after the answer is the server's way to drop the rest
  const done = new Promise<void>((r) => sock.once('close', () => ((closed = true), r())));
  const limit = o.endAfter ?? body.length;
  const first = Math.min(o.firstWithHead ?? 0, limit);
  const write = (b: Buffer | string) => new Promise<void>((r) => (sock.write(b) ? r() : sock.once('drain', r)));
  await write(Buffer.concat([Buffer.from(head, 'latin1'), body.subarray(0, first)]));
  const maxPiece = o.maxPiece ?? 256 * 1024;
  for (let off = first; off < limit && !sock.destroyed && !answered(got); ) {
    const n = Math.min(limit - off, 1 + Math.floor(rnd() * maxPiece));
    await write(body.subarray(off, off + n));
    off += n;
    if (rnd() < 0.05) await new Promise((r) => setTimeout(r, 2));
  }
  if (o.endAfter !== undefined) sock.end();
  const timer = setTimeout(() => sock.destroy(), 15_000);
  await Promise.race([done, untilAnswered(() => got, () => closed)]);
  const wasClosed = closed;
  sock.destroy();
  clearTimeout(timer);
  const text = got.toString('latin1');
  const sep = text.indexOf('\r\n\r\n');
  const headText = sep < 0 ? text : text.slice(0, sep);
  return {
    status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0),
    head: headText,
    body: sep < 0 ? '' : text.slice(sep + 4),
    connection: /^connection: *(.*)$/im.exec(headText)?.[1]?.trim().toLowerCase(),
    closed: wasClosed,
  };
}

/** A whole answer is in: head plus Content-Length bytes of body. */
function answered(got: Buffer): boolean {
  const t = got.toString('latin1');
  const sep = t.indexOf('\r\n\r\n');
  if (sep < 0) return false;
  const len = Number(/^content-length: *(\d+)/im.exec(t.slice(0, sep))?.[1] ?? 0);
  return t.length - sep - 4 >= len;
}

async function untilAnswered(got: () => Buffer, closed: () => boolean): Promise<void> {
  while (!closed() && !answered(got())) await new Promise((r) => setTimeout(r, 5));
  // an answer that closes the connection: wait for the close to tell keep-alive from close
  for (let i = 0; i < 40 && !closed(); i++) await new Promise((r) => setTimeout(r, 5));
}
