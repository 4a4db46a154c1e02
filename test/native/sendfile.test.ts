import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';

import {
  sendFileResponse,
  sendfileActiveCount,
  sendfileAvailable,
  SendfileUnsupportedError,
  type SendFileError,
} from '../../src/native/sendfile.js';
import { loadNative } from '../../src/native/binding.js';

const MiB = 1 << 20;
const BIG = 64 * MiB;

let dir = '';
let bigPath = '';
let bigData: Buffer;
let bigFd = -1;
let smallPath = '';
let smallFd = -1; // 1 MiB
let midFd = -1; // 5 MiB

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fdCount = () => fs.readdirSync('/proc/self/fd').length;

test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imaged-sendfile-'));
  bigData = randomBytes(BIG);
  bigPath = path.join(dir, 'big.bin');
  fs.writeFileSync(bigPath, bigData);
  bigFd = fs.openSync(bigPath, 'r');
  smallPath = path.join(dir, 'small.bin');
  fs.writeFileSync(smallPath, bigData.subarray(0, MiB));
  smallFd = fs.openSync(smallPath, 'r');
  const midPath = path.join(dir, 'mid.bin');
  fs.writeFileSync(midPath, bigData.subarray(0, 5 * MiB));
  midFd = fs.openSync(midPath, 'r');
});

test.after(() => {
  for (const fd of [bigFd, smallFd, midFd]) if (fd >= 0) fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- helpers

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

interface Server {
  port: number;
  connections: number;
  /** Outcome of every handler call, in request order: null or the rejection. */
  outcomes: Promise<SendFileError | null>[];
  close(): Promise<void>;
}

function track(server: http.Server | https.Server, handler: Handler): Promise<Server> {
  const s: Server = {
    port: 0,
    connections: 0,
    outcomes: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => s.connections++);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    s.outcomes.push(
      handler(req, res).then(
        () => null,
        (err: SendFileError) => err,
      ),
    );
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      s.port = (server.address() as AddressInfo).port;
      resolve(s);
    });
  });
}

const serve = (handler: Handler) => track(http.createServer(), handler);

/** Routes: /file?off=&len=[&fd=small|mid][&promise=N] */
const fileHandler: Handler = (req, res) => {
  const u = new URL(req.url ?? '/', 'http://x');
  const off = Number(u.searchParams.get('off') ?? 0);
  const len = Number(u.searchParams.get('len') ?? BIG);
  const which = u.searchParams.get('fd');
  const fd = which === 'small' ? smallFd : which === 'mid' ? midFd : bigFd;
  const timeout = u.searchParams.get('timeout');
  res.strictContentLength = true; // must not trip over the bytes Node never saw
  return sendFileResponse(res, fd, off, len, {
    headers: { 'Content-Type': 'application/octet-stream', 'X-Test': 'yes' },
    ...(timeout ? { progressTimeoutMs: Number(timeout) } : {}),
  });
};

// One connection per request unless a test passes its own agent (keeps fd counts exact).
const noKeepAlive = new http.Agent({ keepAlive: false });

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  sha: string;
  body: Buffer;
  complete: boolean;
  socket: net.Socket;
}

function get(
  port: number,
  p: string,
  opts: { agent?: http.Agent; onResponse?: (res: http.IncomingMessage, req: http.ClientRequest) => void } = {},
): Promise<Got> {
  return new Promise((resolve, reject) => {
    let sock: net.Socket | undefined;
    let responded = false;
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: opts.agent ?? noKeepAlive }, (res) => {
      responded = true;
      const h = createHash('sha256');
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        h.update(c);
        bytes += c.length;
        if (bytes <= 8 * MiB) chunks.push(c);
      });
      res.on('error', () => {});
      res.on('close', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          bytes,
          sha: h.digest('hex'),
          body: Buffer.concat(chunks),
          complete: res.complete,
          socket: sock!,
        }),
      );
      opts.onResponse?.(res, req);
    });
    req.on('socket', (s) => (sock = s));
    req.on('error', (err) => {
      if (!responded) reject(err);
    });
  });
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<boolean> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) return false;
    await sleep(20);
  }
  return true;
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable('expected a rejection');
}

// ---------------------------------------------------------------- tests

test('addon loads', () => {
  assert.ok(sendfileAvailable());
  const b = loadNative();
  assert.is(b.sendfileActive(), 0);
  assert.is(b.sendfileAbort(123456), false);
  assert.throws(() => b.sendfileStart(-1, 0, 0, 1, 0, 0, () => {}), /sockFd/);
  assert.throws(() => b.sendfileStart(1, 0, 0.5, 1, 0, 0, () => {}), /offset/);
  // dup of a closed fd: throws EBADF without calling cb
  let called = false;
  assert.throws(
    () => b.sendfileStart(0x7ffffff0, 0, 0, 1, 0, 0, () => (called = true)),
    (e: SendFileError) => e.code === 'EBADF' && e.syscall === 'sendfile',
  );
  assert.not.ok(called);
});

test('64 MiB body is byte-identical to the file', async () => {
  const s = await serve(fileHandler);
  try {
    const r = await get(s.port, '/file');
    assert.is(r.status, 200);
    assert.is(r.headers['content-length'], String(BIG));
    assert.is(r.headers['x-test'], 'yes');
    assert.is(r.headers['transfer-encoding'], undefined);
    assert.is(r.bytes, BIG);
    assert.ok(r.complete);
    assert.is(r.sha, sha(bigData));
    assert.is(await s.outcomes[0], null);
  } finally {
    await s.close();
  }
});

test('offset/length sub-range', async () => {
  const s = await serve(fileHandler);
  try {
    for (const [off, len] of [
      [12345, 3 * MiB + 7],
      [BIG - 1000, 1000],
      [7, 1],
      [5 * MiB - 3, 10 * MiB + 5],
    ]) {
      const r = await get(s.port, `/file?off=${off}&len=${len}`);
      assert.is(r.status, 200);
      assert.is(r.bytes, len);
      assert.is(r.sha, sha(bigData.subarray(off, off + len)), `range ${off}+${len}`);
    }
    for (const o of s.outcomes) assert.is(await o, null);
  } finally {
    await s.close();
  }
});

test('length 0: headers only, status + extra headers kept', async () => {
  const s = await serve((_req, res) =>
    sendFileResponse(res, bigFd, 100, 0, { status: 206, headers: { 'content-length': 999, 'X-A': 'b' } }),
  );
  try {
    const r = await get(s.port, '/');
    assert.is(r.status, 206);
    assert.is(r.headers['content-length'], '0');
    assert.is(r.headers['x-a'], 'b');
    assert.is(r.bytes, 0);
    assert.ok(r.complete);
    assert.is(await s.outcomes[0], null);
  } finally {
    await s.close();
  }
});

test('HEAD: headers only (Content-Length = length), connection reusable', async () => {
  const s = await serve(fileHandler);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const head = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: s.port, method: 'HEAD', path: '/file?len=5000', agent },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.is(head.headers['content-length'], '5000');
    const r = await get(s.port, '/file?len=5000', { agent });
    assert.is(r.sha, sha(bigData.subarray(0, 5000)));
    assert.is(s.connections, 1);
  } finally {
    agent.destroy();
    await s.close();
  }
});

test('keep-alive: sequential requests reuse one socket', async () => {
  const s = await serve(fileHandler);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const plan: [number, number][] = [
      [0, 8 * MiB],
      [0, 0],
      [100, 100],
      [MiB, 3 * MiB],
      [0, BIG],
      [BIG - 1, 1],
    ];
    const sockets = new Set<net.Socket>();
    for (const [off, len] of plan) {
      const r = await get(s.port, `/file?off=${off}&len=${len}`, { agent });
      sockets.add(r.socket);
      assert.is(r.bytes, len);
      assert.ok(r.complete);
      assert.is(r.sha, sha(bigData.subarray(off, off + len)));
    }
    assert.is(sockets.size, 1, 'client reused the socket');
    assert.is(s.connections, 1, 'server saw one connection');
    for (const o of s.outcomes) assert.is(await o, null);
  } finally {
    agent.destroy();
    await s.close();
  }
});

// Bodies go out corked (TCP_CORK, like nginx's tcp_nopush): the addon must uncork when a send ends,
// or the kernel holds each response's last partial segment for 200 ms.
test('keep-alive: the tail of each body leaves at once (no 200 ms cork hold)', async () => {
  const s = await serve(fileHandler);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) {
      const len = i % 2 ? 1000 : 2 * MiB + 123;
      const r = await get(s.port, `/file?off=${i}&len=${len}`, { agent });
      assert.is(r.bytes, len);
      assert.is(r.sha, sha(bigData.subarray(i, i + len)));
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `10 small keep-alive downloads took ${ms.toFixed(0)} ms (a held tail costs 200 ms each)`);
    assert.is(s.connections, 1);
  } finally {
    agent.destroy();
    await s.close();
  }
});

test('sendfileSetNopush(false): sends go out uncorked, bytes and keep-alive as before', async () => {
  const b = loadNative();
  assert.is(b.sendfileSetNopush(false), false);
  const s = await serve(fileHandler);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (const [off, len] of [[0, 8 * MiB], [5, 1000], [MiB + 1, 3 * MiB]] as const) {
      const r = await get(s.port, `/file?off=${off}&len=${len}`, { agent });
      assert.is(r.bytes, len);
      assert.is(r.sha, sha(bigData.subarray(off, off + len)));
    }
    assert.is(s.connections, 1);
  } finally {
    assert.is(b.sendfileSetNopush(true), true);
    agent.destroy();
    await s.close();
  }
  assert.throws(() => (b.sendfileSetNopush as (v: unknown) => boolean)(1), /boolean/);
});

test('pipelined requests: queued responses wait for their socket', async () => {
  const s = await serve(fileHandler);
  try {
    const reqs: [number, number][] = [
      [0, 4 * MiB],
      [10, 0],
      [333, MiB + 1],
      [2 * MiB, 5],
      [0, 3 * MiB],
      [77, 2 * MiB],
      [5, 3],
    ];
    const raw = reqs
      .map(
        ([off, len], i) =>
          `GET /file?off=${off}&len=${len} HTTP/1.1\r\nHost: x\r\n` +
          (i === reqs.length - 1 ? 'Connection: close\r\n' : '') +
          '\r\n',
      )
      .join('');
    const all = await new Promise<Buffer>((resolve, reject) => {
      const c = net.connect(s.port, '127.0.0.1', () => c.write(raw));
      const chunks: Buffer[] = [];
      let stalls = 0;
      c.on('data', (d) => {
        chunks.push(d);
        // stall now and then so socket buffers fill up between responses and
        // Node has to queue the next response's headers (drain path)
        if (stalls < 20 && Math.random() < 0.2) {
          stalls++;
          c.pause();
          setTimeout(() => c.resume(), 10);
        }
      });
      c.on('end', () => resolve(Buffer.concat(chunks)));
      c.on('error', reject);
    });
    let pos = 0;
    for (const [off, len] of reqs) {
      const he = all.indexOf('\r\n\r\n', pos);
      assert.ok(he > 0, 'header end');
      const head = all.subarray(pos, he).toString('latin1');
      assert.match(head, /^HTTP\/1\.1 200 /);
      const cl = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1]);
      assert.is(cl, len);
      const body = all.subarray(he + 4, he + 4 + cl);
      assert.is(body.length, len);
      assert.ok(body.equals(bigData.subarray(off, off + len)), `body ${off}+${len}`);
      pos = he + 4 + cl;
    }
    assert.is(pos, all.length, 'no stray bytes');
    for (const o of s.outcomes) assert.is(await o, null);
  } finally {
    await s.close();
  }
});

test('pipelined: connection dies while a response is queued -> it rejects, no hang', async () => {
  const s = await serve(fileHandler);
  try {
    const c = net.connect(s.port, '127.0.0.1', () =>
      c.write('GET /file HTTP/1.1\r\nHost: x\r\n\r\nGET /file?len=10 HTTP/1.1\r\nHost: x\r\n\r\n'),
    );
    c.pause();
    c.on('error', () => {});
    assert.ok(await waitFor(() => s.outcomes.length === 2 && sendfileActiveCount() === 1));
    c.destroy();
    const [first, second] = await Promise.all(s.outcomes);
    assert.ok(first && ['ECONNRESET', 'EPIPE', 'ABORT_ERR'].includes(first.code), `first: ${first?.code}`);
    assert.ok(second, 'queued response rejected');
    assert.match(second!.message, /closed before/);
    assert.is(sendfileActiveCount(), 0);
  } finally {
    await s.close();
  }
});

test('headers still buffered in Node (corked socket) go out before the body', async () => {
  let buffered = -1;
  const s = await serve((req, res) => {
    const sock = res.socket!;
    sock.cork(); // as node:http does around res.end(); uncorked on next tick
    const origFlush = res.flushHeaders.bind(res);
    res.flushHeaders = () => {
      origFlush();
      buffered = sock.writableLength;
    };
    setTimeout(() => sock.uncork(), 50);
    return fileHandler(req, res);
  });
  try {
    const r = await get(s.port, '/file?off=3&len=3000000');
    assert.ok(buffered > 0, 'headers were buffered when the send was requested');
    assert.is(r.status, 200);
    assert.is(r.sha, sha(bigData.subarray(3, 3_000_003)));
    assert.is(await s.outcomes[0], null);
  } finally {
    await s.close();
  }
});

test('many concurrent clients', async () => {
  const s = await serve(fileHandler);
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    const N = 64;
    const jobs = Array.from({ length: N }, (_, i) => {
      const off = (i * 997 * 1024) % (BIG - 2 * MiB);
      const len = MiB + i * 4099;
      return get(s.port, `/file?off=${off}&len=${len}`, { agent }).then((r) => ({ r, off, len }));
    });
    // plus a few full-size ones in the mix
    const full = [get(s.port, '/file', { agent }), get(s.port, '/file', { agent })];
    for (const { r, off, len } of await Promise.all(jobs)) {
      assert.is(r.bytes, len);
      assert.is(r.sha, sha(bigData.subarray(off, off + len)));
    }
    for (const r of await Promise.all(full)) assert.is(r.sha, sha(bigData));
    for (const o of s.outcomes) assert.is(await o, null);
    assert.is(sendfileActiveCount(), 0);
  } finally {
    agent.destroy();
    await s.close();
  }
});

test('client aborting mid-transfer: server survives, no fd leak', async () => {
  const s = await serve(fileHandler);
  try {
    await get(s.port, '/file?len=10'); // warm up lazily-created fds
    await sleep(100);
    const before = fdCount();
    const N = 8;
    const aborted = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        get(s.port, '/file', {
          onResponse: (res, req) => {
            let n = 0;
            res.on('data', (c: Buffer) => {
              n += c.length;
              if (n > (i + 1) * MiB) req.destroy();
            });
          },
        }),
      ),
    );
    for (const r of aborted) {
      assert.not.ok(r.complete);
      assert.ok(r.bytes < BIG);
    }
    for (const o of s.outcomes.slice(1)) {
      const err = await o;
      assert.ok(err, 'server send rejected');
      assert.ok(['ECONNRESET', 'EPIPE', 'ABORT_ERR'].includes(err!.code), `code ${err!.code}`);
      assert.type(err!.bytesSent, 'number');
      assert.ok(err!.bytesSent < BIG);
    }
    // server still serves
    const r = await get(s.port, '/file?off=5&len=12345');
    assert.is(r.sha, sha(bigData.subarray(5, 12350)));
    assert.is(sendfileActiveCount(), 0);
    assert.ok(await waitFor(() => fdCount() <= before), `fds before ${before}, after ${fdCount()}`);
  } finally {
    await s.close();
  }
});

test('file shorter than promised: client sees a truncated transfer, server survives', async () => {
  const s = await serve(fileHandler);
  try {
    const before = fdCount();
    // small (1 MiB) promised as 2 MiB: likely fails in the inline burst;
    // mid (5 MiB) promised as 7 MiB: fails from the event-loop-driven part.
    for (const [which, size, promise] of [
      ['small', MiB, 2 * MiB],
      ['mid', 5 * MiB, 7 * MiB],
    ] as const) {
      const r = await get(s.port, `/file?fd=${which}&len=${promise}`);
      assert.is(r.headers['content-length'], String(promise));
      assert.not.ok(r.complete, 'client must not see a complete body');
      assert.is(r.bytes, size);
      const err = await s.outcomes[s.outcomes.length - 1];
      assert.is(err?.code, 'ESHORTFILE');
      assert.is(err?.bytesSent, size);
    }
    const r = await get(s.port, '/file?fd=small&len=1000');
    assert.is(r.sha, sha(bigData.subarray(0, 1000)));
    assert.ok(await waitFor(() => fdCount() <= before), `fds before ${before}, after ${fdCount()}`);
  } finally {
    await s.close();
  }
});

test('socket destroyed server-side during the send: abort stops the transfer', async () => {
  let serverRes: http.ServerResponse | undefined;
  const s = await serve((req, res) => {
    serverRes = res;
    return fileHandler(req, res);
  });
  try {
    let clientClosed = false;
    let paused!: http.IncomingMessage;
    const got = get(s.port, '/file', {
      onResponse: (res) => {
        paused = res;
        res.pause(); // stop reading: the server blocks on a full socket buffer
        res.socket.on('close', () => (clientClosed = true));
      },
    });
    assert.ok(await waitFor(() => sendfileActiveCount() === 1));
    await sleep(100);
    assert.is(sendfileActiveCount(), 1, 'still in flight while the client is not reading');
    serverRes!.destroy();
    const err = await s.outcomes[0];
    assert.is(err?.code, 'ABORT_ERR');
    assert.ok(err!.bytesSent > 0 && err!.bytesSent < BIG);
    assert.is(sendfileActiveCount(), 0);
    paused.resume();
    const r = await got;
    assert.not.ok(r.complete);
    assert.ok(r.bytes <= err!.bytesSent);
    assert.ok(await waitFor(() => clientClosed), 'connection really closed');
  } finally {
    await s.close();
  }
});

test('client half-closes its side during the send: settles, no spin, no leak', async () => {
  const s = await serve(fileHandler);
  try {
    const before = fdCount();
    const cpu0 = process.cpuUsage();
    const received = await new Promise<number>((resolve) => {
      let n = 0;
      const c = net.connect(s.port, '127.0.0.1', () => {
        c.write('GET /file HTTP/1.1\r\nHost: x\r\n\r\n');
        c.pause(); // let the server fill the socket buffer first
        setTimeout(() => {
          c.end(); // FIN (EPOLLRDHUP on the server) while still reading
          setTimeout(() => c.resume(), 200);
        }, 100);
      });
      c.on('data', (d) => (n += d.length));
      c.on('error', () => {});
      c.on('close', () => resolve(n));
    });
    assert.ok(await waitFor(() => s.outcomes.length > 0));
    const err = await s.outcomes[0];
    // node:http (httpAllowHalfOpen=false) ends its side on EOF -> EPIPE;
    // either way the transfer must settle and not leave anything behind.
    if (err) assert.ok(['EPIPE', 'ECONNRESET', 'ABORT_ERR'].includes(err.code), `code ${err.code}`);
    else assert.ok(received > BIG, 'complete response');
    const cpu = process.cpuUsage(cpu0);
    assert.ok(cpu.user + cpu.system < 2_000_000, `cpu ${cpu.user + cpu.system} us`);
    assert.is(sendfileActiveCount(), 0);
    assert.ok(await waitFor(() => fdCount() <= before), `fds before ${before}, after ${fdCount()}`);
  } finally {
    await s.close();
  }
});

test('progress timeout aborts a stalled client', async () => {
  const s = await serve(fileHandler);
  try {
    let paused!: http.IncomingMessage;
    const t0 = Date.now();
    const got = get(s.port, '/file?timeout=300', {
      onResponse: (res) => {
        paused = res;
        res.pause();
      },
    });
    assert.ok(await waitFor(() => s.outcomes.length > 0));
    const err = await s.outcomes[0];
    const dt = Date.now() - t0;
    assert.is(err?.code, 'ETIMEDOUT');
    assert.ok(dt >= 250 && dt < 3000, `timed out after ${dt} ms`);
    paused.resume();
    const r = await got;
    assert.not.ok(r.complete);
    assert.is(sendfileActiveCount(), 0);
  } finally {
    await s.close();
  }
});

test('TLS socket: SendfileUnsupportedError before anything is written', async () => {
  // openssl makes the throwaway certificate; test/run installs it. Missing, the test fails: it never skips.
  const k = path.join(dir, 'k.pem');
  const c = path.join(dir, 'c.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', k, '-out', c, '-subj', '/CN=localhost', '-days', '1'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (e) {
    throw new Error(`the TLS test needs openssl to make a certificate (apt-get install openssl): ${(e as Error).message}`);
  }
  const key = fs.readFileSync(k, 'utf8');
  const cert = fs.readFileSync(c, 'utf8');
  let headersSentAtCatch: boolean | undefined;
  const s = await track(https.createServer({ key, cert }), async (_req, res) => {
    try {
      await sendFileResponse(res, bigFd, 0, 100);
    } catch (err) {
      assert.instance(err, SendfileUnsupportedError);
      headersSentAtCatch = res.headersSent;
      res.end('fallback');
    }
  });
  try {
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: s.port, path: '/', rejectUnauthorized: false }, (res) => {
          let b = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (b += d));
          res.on('end', () => resolve(b));
        })
        .on('error', reject);
    });
    assert.is(body, 'fallback');
    assert.is(headersSentAtCatch, false);
  } finally {
    await s.close();
  }
});

test('argument validation', async () => {
  const s = await serve(async (_req, res) => {
    await rejects(sendFileResponse(res, bigFd, -1, 10), /offset/);
    await rejects(sendFileResponse(res, bigFd, 0, 1.5), /length/);
    await rejects(sendFileResponse(res, bigFd, 0, 10, { status: 204 }), /cannot carry a body/);
    assert.not.ok(res.headersSent);
    res.end('ok');
  });
  try {
    const r = await get(s.port, '/');
    assert.is(r.body.toString(), 'ok');
    assert.is(await s.outcomes[0], null);
  } finally {
    await s.close();
  }
});

test.run();
