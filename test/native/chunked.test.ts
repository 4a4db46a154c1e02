// The native chunked transfer decoder (native/chunked.cc) and chunked bodies claimed from Node's parser and read
// from the socket (claimChunkedBody + socketBody in src/data/body.ts). Fuzz cases use a fixed seed.
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadNative } from '../../src/native/binding.js';
import { claimChunkedBody, claimedSocket, socketBody, streamBody, type BodySource } from '../../src/data/body.js';
import { HttpError } from '../../src/util/errors.js';
import { MALFORMED, encodeChunked, randInt, randomSizes, seeded, sendRaw } from '../helpers/chunked.js';

const native = loadNative();
const KiB = 1024;
const MiB = 1 << 20;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');


const d = suite('chunked decoder');

d('decodes sizes in either case, extensions, BWS, leading zeros, trailers; end is just past the last CRLF', () => {
  const body = '5;name=value;q="a;b"\r\nhello\r\nA \t;x\r\n0123456789\r\n0001\r\n!\r\n0;last\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\n';
  const r = native.chunkedDecode(Buffer.from(body + 'NEXT REQUEST', 'latin1'));
  assert.is(r.error, null);
  assert.is(r.data.toString(), 'hello0123456789!');
  assert.is(r.end, body.length);
  assert.equal(native.chunkedDecode(Buffer.from('0\r\n\r\n')), { data: Buffer.alloc(0), end: 5, error: null });
});

d('every malformed case is an error naming the problem', () => {
  for (const [name, bad, why] of MALFORMED) {
    const r = native.chunkedDecode(Buffer.from(`3\r\nabc\r\n${bad}`, 'latin1'));
    assert.ok(r.error, `${name}: expected an error`);
    assert.match(r.error!, why, name);
    assert.is(r.end, -1, name);
  }
});

d('fuzz (seed 14): any chunking gives the same bytes; every cut is "more needed"; a changed CR or LF is an error', () => {
  const rnd = seeded(14);
  for (let round = 0; round < 300; round++) {
    const data = randomBytes(randInt(rnd, 0, 5000));
    const enc = encodeChunked(data, randomSizes(rnd, 7, 1, randInt(rnd, 1, 3000)), {
      upper: rnd() < 0.5,
      ext: rnd() < 0.3 ? (i) => `;i=${i}` : undefined,
      trailers: rnd() < 0.3 ? ['X-A: b', 'Checksum: x'] : [],
    });
    const r = native.chunkedDecode(enc.bytes);
    assert.is(r.error, null);
    assert.is(r.end, enc.bytes.length);
    assert.ok(r.data.equals(data), `round ${round}: decoded bytes differ`);
    const cut = randInt(rnd, 0, enc.bytes.length - 1);
    const part = native.chunkedDecode(enc.bytes.subarray(0, cut));
    assert.equal([part.error, part.end], [null, -1], `round ${round}: cut at ${cut}`);
    assert.ok(data.subarray(0, part.data.length).equals(part.data));
    const at = enc.crlf[randInt(rnd, 0, enc.crlf.length - 1)];
    const bad = Buffer.from(enc.bytes);
    bad[at] = (bad[at] + randInt(rnd, 1, 255)) & 0xff;
    const m = native.chunkedDecode(bad);
    assert.ok(m.error, `round ${round}: byte ${at} changed from ${enc.bytes[at]} to ${bad[at]} was accepted`);
  }
});

// ---- bodies read from the socket ----------------------------------------------------------------

interface Seen {
  claimed: boolean;
  sha: string;
  size: number;
  error?: string;
}

/** A node:http server that claims chunked PUT .../file bodies and reads each through socketBody in `slot`-byte fills. */
async function bodyServer(slot: number) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const claimed = claimChunkedBody(req, res);
    void (async () => {
      await new Promise((r) => setTimeout(r, 5)); // the catalog work before the body is read
      const src: BodySource = socketBody(req) ?? streamBody(req);
      const h = createHash('sha256');
      let size = 0;
      const buf = new Uint8Array(new SharedArrayBuffer(slot));
      try {
        for (;;) {
          const n = await src.fill(buf);
          h.update(buf.subarray(0, n));
          size += n;
          if (n < buf.length) break;
        }
        seen.push({ claimed, sha: h.digest('hex'), size });
        res.end('ok');
      } catch (e) {
        seen.push({ claimed, sha: '', size, error: e instanceof HttpError ? `${e.status} ${e.message}` : (e as Error).constructor.name });
        res.statusCode = 400;
        res.end('bad');
      }
    })();
  });
  // Node's parser sees what came with the head too: as imaged's daemon, the body's reader answers for it
  server.on('clientError', (_e, sock) => claimedSocket(sock) || sock.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { seen, url, close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) };
}

const head = (extra = '') => `PUT /v2/images/abc/file HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n${extra}\r\n`;

const s = suite('chunked body from the socket');

s('fuzz (seed 1414): random chunkings, read splits and slot sizes give the same bytes; the connection closes after', async () => {
  const rnd = seeded(1414);
  const data = randomBytes(MiB + 777);
  const want = sha(data);
  for (const slot of [MiB, 65_537, 4093]) {
    const srv = await bodyServer(slot);
    try {
      const shapes = [
        randomSizes(rnd, 50, 1, 64 * KiB),
        [...randomSizes(rnd, 40, 1, 17), ...randomSizes(rnd, 10, 30 * KiB, 100 * KiB)], // tiny chunks among large ones
        randomSizes(rnd, 50, 60 * KiB, 300 * KiB),
        randomSizes(rnd, 5, MiB, 3 * MiB),
      ];
      for (const sizes of shapes) {
        const enc = encodeChunked(data, sizes, { ext: rnd() < 0.5 ? () => ';x=y' : undefined, trailers: ['X-T: 1'] });
        const r = await sendRaw(srv.url, head(), enc.bytes, rnd, { firstWithHead: randInt(rnd, 0, 3000), maxPiece: randInt(rnd, 1, 300 * KiB) });
        assert.is(r.status, 200, `slot ${slot}, chunks ${sizes.slice(0, 5)}...`);
        assert.is(r.connection, 'close');
      }
      assert.equal(srv.seen, Array(4).fill({ claimed: true, sha: want, size: data.length }));
    } finally {
      await srv.close();
    }
  }
});

s('a body that all came with its head stays on the stream and keeps the connection', async () => {
  const srv = await bodyServer(MiB);
  try {
    const enc = encodeChunked(Buffer.from('small body'), [3]);
    const r = await sendRaw(srv.url, head(), enc.bytes, seeded(1), { firstWithHead: enc.bytes.length });
    assert.is(r.status, 200);
    assert.is(r.connection, 'keep-alive');
    assert.is(r.closed, false);
    // announced small: not claimed either, even when the body comes later
    const r2 = await sendRaw(srv.url, head('x-openstack-image-size: 20\r\n'), encodeChunked(randomBytes(20), [7]).bytes, seeded(2));
    assert.is(r2.status, 200);
    assert.equal(srv.seen.map((x) => x.claimed), [false, false]);
  } finally {
    await srv.close();
  }
});

s('malformed framing, with the head or megabytes later, and a body that ends early: 400, nothing hangs', async () => {
  const rnd = seeded(77);
  const srv = await bodyServer(MiB);
  try {
    const good = encodeChunked(randomBytes(3 * MiB), [64 * KiB]).bytes;
    const prefix = good.subarray(0, good.length - 5); // all chunks but the last
    let expect = 0;
    for (const [name, bad, why] of MALFORMED) {
      for (const late of [false, true]) {
        const body = late ? Buffer.concat([prefix, Buffer.from(bad, 'latin1')]) : Buffer.from(`3\r\nabc\r\n${bad}`, 'latin1');
        const t0 = Date.now();
        const r = await sendRaw(srv.url, head(), body, rnd, { firstWithHead: late ? 100 : body.length });
        assert.is(r.status, 400, `${name} (${late ? 'late' : 'with the head'})`);
        assert.ok(Date.now() - t0 < 5000, `${name}: took ${Date.now() - t0} ms`);
        expect++;
        for (let i = 0; i < 100 && srv.seen.length < expect; i++) await new Promise((res) => setTimeout(res, 10));
        const seen = srv.seen[expect - 1];
        assert.ok(seen?.error?.startsWith('400 '), `${name}: ${JSON.stringify(seen)}`);
        assert.match(seen.error!, why, name);
        assert.ok(seen.claimed, name);
      }
    }
    const r = await sendRaw(srv.url, head(), good, rnd, { endAfter: good.length - 1000 });
    assert.is(r.status, 400);
    assert.equal(srv.seen.at(-1), { claimed: true, sha: '', size: srv.seen.at(-1)!.size, error: 'ClientAbortError' });
  } finally {
    await srv.close();
  }
});

d.run();
s.run();
