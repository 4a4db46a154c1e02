// recv(2) into caller memory (native/socket_io.cc) and the upload body source built on it (src/data/body.ts).
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadNative, type NativeSendError } from '../../src/native/binding.js';
import { takeOverReads } from '../../src/native/socket.js';
import { socketBody, streamBody, SOCKET_BODY_MIN_BYTES, ClientAbortError, type BodySource } from '../../src/data/body.js';

const MiB = 1 << 20;
const native = loadNative();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A connected TCP pair on loopback: `server` is the accepted side (what imaged reads). */
async function pair(): Promise<{ server: net.Socket; client: net.Socket; close(): void }> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const client = net.connect((srv.address() as AddressInfo).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const server = await accepted;
  assert.ok(takeOverReads(server)); // Node must not read what the test sends to the native side
  return { server, client, close: () => (server.destroy(), client.destroy(), srv.close()) };
}

const fdOf = (s: net.Socket) => (s as unknown as { _handle: { fd: number } })._handle.fd;

function recv(fd: number, buf: Uint8Array, off: number, len: number, timeoutMs = 5000) {
  let id = 0;
  const p = new Promise<number>((resolve, reject) => {
    id = native.recvStart(fd, buf, off, len, timeoutMs, (err, n) => (err ? reject(err) : resolve(n)));
  });
  return { p, id: () => id };
}

const r = suite('native recv');

r('fills a SharedArrayBuffer view at an offset, across many small writes', async () => {
  const { server, client, close } = await pair();
  try {
    const data = randomBytes(3 * MiB + 17);
    const mem = new SharedArrayBuffer(4 * MiB + 4096);
    const view = new Uint8Array(mem, 4096 + 5, 4 * MiB - 100);
    const { p } = recv(fdOf(server), view, 3, data.length);
    for (let o = 0; o < data.length; o += 100_000) {
      client.write(data.subarray(o, o + 100_000));
      if (o % 1_000_000 === 0) await sleep(5);
    }
    assert.is(await p, data.length);
    assert.ok(Buffer.from(view.buffer, view.byteOffset + 3, data.length).equals(data));
  } finally {
    close();
  }
});

r('EOF before the length resolves with the count; a reset is an error', async () => {
  const a = await pair();
  try {
    const buf = new Uint8Array(MiB);
    const { p } = recv(fdOf(a.server), buf, 0, MiB);
    a.client.end(Buffer.alloc(1000, 1));
    assert.is(await p, 1000);
  } finally {
    a.close();
  }
  const b = await pair();
  try {
    const { p } = recv(fdOf(b.server), new Uint8Array(MiB), 0, MiB);
    b.client.write(Buffer.alloc(10));
    await sleep(20);
    b.client.resetAndDestroy();
    const e = (await p.then(() => null, (x) => x)) as NativeSendError | null;
    assert.ok(e, 'expected a failure');
    assert.is(e!.code, 'ECONNRESET');
  } finally {
    b.close();
  }
});

r('abort stops the read without closing the connection; progress timeout', async () => {
  const { server, client, close } = await pair();
  try {
    const t = recv(fdOf(server), new Uint8Array(MiB), 0, MiB);
    await sleep(20);
    assert.ok(t.id() > 0);
    assert.ok(native.recvAbort(t.id()));
    const e = (await t.p.then(() => null, (x) => x)) as NativeSendError;
    assert.is(e.code, 'ABORT_ERR');
    // the connection still carries an answer (what the HTTP layer needs for a 413 after a refused body)
    const got = new Promise<Buffer>((res) => client.once('data', res));
    server.write('answer');
    assert.is((await got).toString(), 'answer');
    const slow = recv(fdOf(server), new Uint8Array(MiB), 0, MiB, 100);
    const e2 = (await slow.p.then(() => null, (x) => x)) as NativeSendError;
    assert.is(e2.code, 'ETIMEDOUT');
    assert.is(native.sendfileActive(), 0);
  } finally {
    close();
  }
});

r('bad arguments throw', () => {
  assert.throws(() => native.recvStart(0, new Uint8Array(10), 5, 6, 0, () => {}), /length/);
  assert.throws(() => native.recvStart(0, {} as Uint8Array, 0, 1, 0, () => {}), /TypedArray/);
});

r('alignOffset makes O_DIRECT-able memory', () => {
  for (let i = 0; i < 5; i++) {
    const mem = new SharedArrayBuffer(MiB + 4096);
    const skip = native.alignOffset(new Uint8Array(mem), 4096);
    assert.ok(skip >= 0 && skip < 4096);
    assert.is(native.alignOffset(new Uint8Array(mem, skip, MiB), 4096), 0);
  }
  assert.throws(() => native.alignOffset(new Uint8Array(4), 3), /power of two/);
});

// ---- the HTTP body source -------------------------------------------------------------------

interface Seen {
  native: boolean;
  sha: string;
  size: number;
  error?: string;
}

/** A node:http server that reads each PUT body through socketBody (or streamBody) 1 MiB at a time. */
async function bodyServer(delayMs = 0) {
  const seen: Seen[] = [];
  const server = http.createServer(async (req, res) => {
    await sleep(delayMs); // like imaged's catalog work before the body is read: Node buffers some of it meanwhile
    const sb = socketBody(req);
    const src: BodySource = sb ?? streamBody(req);
    const h = createHash('sha256');
    let size = 0;
    const slot = new Uint8Array(new SharedArrayBuffer(MiB));
    try {
      for (;;) {
        const n = await src.fill(slot);
        h.update(slot.subarray(0, n));
        size += n;
        if (n < slot.length) break;
      }
      seen.push({ native: sb !== null, sha: h.digest('hex'), size });
      if (!req.complete) res.setHeader('Connection', 'close');
      res.end('ok');
    } catch (e) {
      seen.push({ native: sb !== null, sha: '', size, error: (e as Error).constructor.name });
      if (!req.complete) res.setHeader('Connection', 'close');
      res.statusCode = 400;
      res.end('bad');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { seen, url, close: () => new Promise((r) => server.close(r)) };
}

function put(url: string, data: Buffer, headers: Record<string, string | number> = {}, expectContinue = false) {
  return new Promise<{ status: number; connection?: string }>((resolve, reject) => {
    const length = headers['Transfer-Encoding'] ? {} : { 'Content-Length': data.length };
    const req = http.request(url, { method: 'PUT', headers: { ...length, ...headers, ...(expectContinue ? { Expect: '100-continue' } : {}) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
    });
    req.on('error', reject);
    const send = () => {
      let o = 0;
      const pump = () => {
        while (o < data.length) {
          const ok = req.write(data.subarray(o, o + 256 * 1024));
          o += 256 * 1024;
          if (!ok) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    };
    if (expectContinue) req.once('continue', send);
    else send();
  });
}

const b = suite('upload body from the socket');

b('large Content-Length body: native read with what Node buffered first, bytes intact, connection closed after', async () => {
  const s = await bodyServer(30);
  try {
    const data = randomBytes(SOCKET_BODY_MIN_BYTES + 3 * MiB + 12345);
    const r1 = await put(s.url, data);
    assert.is(r1.status, 200);
    assert.is(r1.connection, 'close');
    const r2 = await put(s.url, data, {}, true); // Expect: 100-continue, as curl -T sends
    assert.is(r2.status, 200);
    const want = createHash('sha256').update(data).digest('hex');
    assert.equal(s.seen.map((x) => [x.native, x.size, x.sha]), [[true, data.length, want], [true, data.length, want]]);
  } finally {
    await s.close();
  }
});

b('small and chunked bodies stay on the stream (keep-alive kept)', async () => {
  const s = await bodyServer();
  try {
    const small = randomBytes(MiB + 1);
    const r1 = await put(s.url, small);
    assert.is(r1.status, 200);
    assert.is.not(r1.connection, 'close');
    const big = randomBytes(SOCKET_BODY_MIN_BYTES + 1);
    const r2 = await put(s.url, big, { 'Transfer-Encoding': 'chunked' });
    assert.is(r2.status, 200);
    assert.equal(s.seen.map((x) => [x.native, x.size]), [[false, small.length], [false, big.length]]);
  } finally {
    await s.close();
  }
});

b('client gone mid-body: the fill fails with ClientAbortError, nothing hangs', async () => {
  const s = await bodyServer();
  try {
    const { port } = new URL(s.url);
    const sock = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(`PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: ${20 * MiB}\r\n\r\n`);
    sock.write(Buffer.alloc(3 * MiB, 9));
    await sleep(100);
    sock.destroy();
    for (let i = 0; i < 50 && s.seen.length === 0; i++) await sleep(20);
    assert.equal(s.seen, [{ native: true, sha: '', size: 3 * MiB, error: ClientAbortError.name }]);
  } finally {
    await s.close();
  }
});

r.run();
b.run();
