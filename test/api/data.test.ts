import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { startTestDaemon, ADMIN, as, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/wait.js';

const t = suite<{ d: TestDaemon; data: Buffer }>('image data: upload and download');
t.before(async (ctx) => {
  ctx.d = await startTestDaemon({ imageSizeCap: 64 << 20 });
  ctx.data = randomBytes(3 * 1024 * 1024 + 123);
});
t.after(async (ctx) => {
  await ctx.d.stop();
});

const datadir = (d: TestDaemon) => d.config.stores[0].datadir!;
const leftovers = (d: TestDaemon) => readdirSync(datadir(d)).filter((n) => n.startsWith('.'));
const show = async (d: TestDaemon, id: string) => (await request(`${d.url}/v2/images/${id}`)).json;

t('upload → active with md5, sha512, size; download is byte-identical with Content-MD5', async ({ d, data }) => {
  const img = await createImage(d.url);
  const r = await upload(d.url, img.id, data);
  assert.is(r.status, 204, r.body.toString());
  const s = await show(d, img.id);
  assert.is(s.status, 'active');
  assert.is(s.size, data.length);
  assert.is(s.checksum, createHash('md5').update(data).digest('hex'));
  assert.is(s.os_hash_algo, 'sha512');
  assert.is(s.os_hash_value, createHash('sha512').update(data).digest('hex'));
  const g = await request(`${d.url}/v2/images/${img.id}/file`);
  assert.is(g.status, 200);
  assert.is(g.headers['content-type'], 'application/octet-stream');
  assert.is(g.headers['content-md5'], s.checksum);
  assert.is(Number(g.headers['content-length']), data.length);
  assert.ok(g.body.equals(data));
  assert.equal(leftovers(d), []);
  // a second upload is a conflict
  const again = await upload(d.url, img.id, data);
  assert.is(again.status, 409);
});

/** A qcow2 header (version 3) for a disk of `size` bytes, `len` bytes long. */
function qcow2(size: number, len = 512): Buffer {
  const b = Buffer.alloc(len);
  b.write('QFI\xfb', 0, 'latin1');
  b.writeUInt32BE(3, 4);
  b.writeUInt32BE(16, 20);
  b.writeBigUInt64BE(BigInt(size), 24);
  return b;
}

t('virtual_size from the data as Glance sets it: raw = size, qcow2 from its header; mismatch, truncated, non-bare → null', async ({ d, data }) => {
  const cases: [string, object, Buffer, number | null][] = [
    ['raw', { disk_format: 'raw' }, data, data.length],
    ['qcow2 header only', { disk_format: 'qcow2' }, qcow2(10 * 2 ** 30), 10 * 2 ** 30],
    ['qcow2 read from the socket natively', { disk_format: 'qcow2' }, Buffer.concat([qcow2(2 ** 40, 4096), randomBytes(20 << 20)]), 2 ** 40],
    ['qcow2 declared, raw bytes', { disk_format: 'qcow2' }, randomBytes(4096), null],
    ['qcow2 truncated header', { disk_format: 'qcow2' }, qcow2(2 ** 30, 300), null],
    ['raw in an ovf container', { disk_format: 'raw', container_format: 'ovf' }, data, null],
    ['iso (Glance has no inspector for it)', { disk_format: 'iso' }, data, null],
  ];
  for (const [what, attrs, body, want] of cases) {
    const img = await createImage(d.url, attrs);
    assert.is(img.virtual_size, null, what);
    const r = await upload(d.url, img.id, body);
    assert.is(r.status, 204, `${what}: ${r.body}`);
    const s = await show(d, img.id);
    assert.is(s.status, 'active', what);
    assert.is(s.size, body.length, what);
    assert.is(s.virtual_size, want, what);
    const listed = (await request(`${d.url}/v2/images?id=${img.id}`)).json.images[0];
    assert.is(listed.virtual_size, want, `${what} (list)`);
  }
});

t('large upload (hashed in workers) with chunked encoding', async ({ d }) => {
  const big = randomBytes(24 << 20);
  const img = await createImage(d.url);
  const r = await new Promise<number>((resolve, reject) => {
    const req = http.request(`${d.url}/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    for (let off = 0; off < big.length; off += 65536) req.write(big.subarray(off, off + 65536));
    req.end();
  });
  assert.is(r, 204);
  const s = await show(d, img.id);
  assert.is(s.size, big.length);
  assert.is(s.os_hash_value, createHash('sha512').update(big).digest('hex'));
  assert.is(s.checksum, createHash('md5').update(big).digest('hex'));
});

t('large Content-Length upload is read from the socket natively: exact bytes, connection closed after; delete mid-upload → 410', async ({ d }) => {
  const big = randomBytes(20 << 20);
  const img = await createImage(d.url);
  const r = await upload(d.url, img.id, big);
  assert.is(r.status, 204, r.body.toString());
  assert.is(r.headers.connection, 'close'); // Node's parser never saw the body's end: no keep-alive
  const s = await show(d, img.id);
  assert.is(s.status, 'active');
  assert.is(s.checksum, createHash('md5').update(big).digest('hex'));
  assert.is(s.os_hash_value, createHash('sha512').update(big).digest('hex'));
  assert.ok(readFileSync(`${datadir(d)}/${img.id}`).equals(big));

  const victim = await createImage(d.url);
  const req = http.request(`${d.url}/v2/images/${victim.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': 40 << 20 } });
  const answered = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', () => resolve(-1));
  });
  await new Promise<void>((r) => req.write(Buffer.alloc(12 << 20, 3), () => r()));
  // the delete must hit an upload in progress, not one that has not started
  try {
    await waitUntil(async () => (await show(d, victim.id)).status === 'saving', 'the upload to be saving');
  } catch (e) {
    req.destroy();
    throw e;
  }
  assert.is((await request(`${d.url}/v2/images/${victim.id}`, { method: 'DELETE' })).status, 204);
  const status = await answered;
  req.destroy();
  assert.ok(status === 410 || status === -1, `status ${status}`); // the client may see the reset before the answer
  await waitUntil(() => leftovers(d).length === 0, 'no partial file').catch(() => {});
  assert.equal(leftovers(d), []);
  assert.is((await request(`${d.url}/v2/images/${victim.id}`)).status, 404);
});

t('range requests: 206 with Content-Range, suffix, open-ended, legacy Content-Range; malformed/unsatisfiable 416; multi-range 400', async ({ d, data }) => {
  const img = await createImage(d.url);
  await upload(d.url, img.id, data);
  const get = (h: Record<string, string>) => request(`${d.url}/v2/images/${img.id}/file`, { headers: h });
  let r = await get({ Range: 'bytes=0-1023' });
  assert.is(r.status, 206);
  assert.is(r.headers['content-range'], `bytes 0-1023/${data.length}`);
  assert.ok(r.body.equals(data.subarray(0, 1024)));
  assert.ok(r.headers['content-md5']);
  r = await get({ Range: 'bytes=-100' });
  assert.is(r.status, 206);
  assert.ok(r.body.equals(data.subarray(data.length - 100)));
  r = await get({ Range: `bytes=${data.length - 10}-` });
  assert.ok(r.body.equals(data.subarray(data.length - 10)));
  r = await get({ Range: `bytes=1000-${data.length + 5000}` });
  assert.is(r.status, 206);
  assert.is(r.headers['content-range'], `bytes 1000-${data.length - 1}/${data.length}`, 'clamped to the image');
  assert.is(Number(r.headers['content-length']), data.length - 1000);
  assert.ok(r.body.equals(data.subarray(1000)));
  r = await get({ 'Content-Range': 'bytes 10-19/*' });
  assert.is(r.status, 206);
  assert.is(r.headers['content-range'], `bytes 10-19/${data.length}`);
  assert.ok(r.body.equals(data.subarray(10, 20)));
  r = await get({ Range: `bytes=${data.length}-` });
  assert.is(r.status, 416);
  assert.is(r.headers['content-range'], `bytes */${data.length}`);
  r = await get({ Range: 'bytes=0-1,5-6' });
  assert.is(r.status, 400);
  // malformed ranges are 416 in Glance (webob cannot parse them), not 400
  for (const bad of ['pages=1-2', 'bytes=5-2', 'bytes=abc', 'items=0-5']) {
    r = await get({ Range: bad });
    assert.is(r.status, 416, bad);
    assert.match(r.body.toString(), /Range/);
  }
  r = await get({ 'Content-Range': 'bytes 5-2/*' });
  assert.is(r.status, 416);
  r = await get({ 'Content-Range': `bytes 0-${data.length}/*` }); // stop beyond the image
  assert.is(r.status, 416);
});

t('range edge cases: one byte, the last byte, suffix longer than the image, Content-Range totals; a 0-byte image has no satisfiable range', async ({ d, data }) => {
  const img = await createImage(d.url, {}, ADMIN);
  assert.is((await upload(d.url, img.id, data, ADMIN)).status, 204);
  const get = (id: string, h: Record<string, string>) => request(`${d.url}/v2/images/${id}/file`, { headers: { ...ADMIN, ...h } });
  const N = data.length;
  const cases: Array<[Record<string, string>, number, number, string]> = [
    [{ Range: 'bytes=0-0' }, 0, 1, `bytes 0-0/${N}`],
    [{ Range: `bytes=${N - 1}-${N - 1}` }, N - 1, N, `bytes ${N - 1}-${N - 1}/${N}`],
    [{ Range: `bytes=${N - 1}-` }, N - 1, N, `bytes ${N - 1}-${N - 1}/${N}`],
    [{ Range: 'bytes=-1' }, N - 1, N, `bytes ${N - 1}-${N - 1}/${N}`],
    [{ Range: `bytes=-${N + 10}` }, 0, N, `bytes 0-${N - 1}/${N}`],
    [{ Range: 'bytes=0-' }, 0, N, `bytes 0-${N - 1}/${N}`],
    [{ Range: 'bytes=7-7' }, 7, 8, `bytes 7-7/${N}`],
    [{ 'Content-Range': 'bytes 0-0/*' }, 0, 1, `bytes 0-0/${N}`],
    [{ 'Content-Range': `bytes 100-199/${N}` }, 100, 200, `bytes 100-199/${N}`],
  ];
  for (const [h, from, to, cr] of cases) {
    const r = await get(img.id, h);
    const what = JSON.stringify(h);
    assert.is(r.status, 206, what);
    assert.is(r.headers['content-range'], cr, what);
    assert.is(Number(r.headers['content-length']), to - from, what);
    assert.ok(r.body.equals(data.subarray(from, to)), what);
  }
  for (const h of [{ Range: `bytes=${N}-${N}` }, { Range: 'bytes=-0' }, { Range: `bytes=${N + 1}-` }]) {
    const r = await get(img.id, h);
    assert.is(r.status, 416, JSON.stringify(h));
    assert.is(r.headers['content-range'], `bytes */${N}`, JSON.stringify(h));
  }

  const empty = await createImage(d.url, {}, ADMIN);
  assert.is((await upload(d.url, empty.id, Buffer.alloc(0), ADMIN)).status, 204);
  const whole = await get(empty.id, {});
  assert.is(whole.status, 200);
  assert.is(whole.body.length, 0);
  for (const h of [{ Range: 'bytes=0-0' }, { Range: 'bytes=0-' }, { Range: 'bytes=-1' }, { 'Content-Range': 'bytes 0-0/*' }] as Record<string, string>[]) {
    const r = await get(empty.id, h);
    assert.is(r.status, 416, JSON.stringify(h));
    assert.is(r.headers['content-range'], 'bytes */0', JSON.stringify(h));
  }
});

t('no data yet → 204; HEAD → 405; wrong content type → 415; unknown image → 404', async ({ d }) => {
  const img = await createImage(d.url);
  assert.is((await request(`${d.url}/v2/images/${img.id}/file`)).status, 204);
  const h = await request(`${d.url}/v2/images/${img.id}/file`, { method: 'HEAD' });
  assert.is(h.status, 405);
  assert.is(h.headers.allow, 'GET, PUT');
  const r = await request(`${d.url}/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.is(r.status, 415);
  assert.is((await upload(d.url, '00000000-0000-0000-0000-000000000000', Buffer.from('x'))).status, 404);
  assert.is((await request(`${d.url}/v2/images/../../etc/passwd/file`)).status, 404);
});

t('formats must be set before data', async ({ d }) => {
  const r0 = await request(`${d.url}/v2/images`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  const r = await upload(d.url, r0.json.id, Buffer.from('abc'));
  assert.is(r.status, 400);
  assert.match(r.body.toString(), /disk_format/);
});

t('size mismatch → 400, image back to queued, no file left; then a correct upload works', async ({ d, data }) => {
  const img = await createImage(d.url);
  const r = await upload(d.url, img.id, data, { 'x-openstack-image-size': data.length + 1, 'Content-Length': data.length });
  assert.is(r.status, 400);
  assert.is((await show(d, img.id)).status, 'queued');
  const r2 = await upload(d.url, img.id, data.subarray(0, 100), { 'x-openstack-image-size': 50 });
  assert.is(r2.status, 400);
  const r3 = await upload(d.url, img.id, data.subarray(0, 100), { 'x-openstack-image-size': 'lots' });
  assert.is(r3.status, 400);
  assert.equal(leftovers(d), []);
  const ok = await upload(d.url, img.id, data);
  assert.is(ok.status, 204);
});

t('over image_size_cap → 413 (announced and streamed); unknown store → 400', async ({ d }) => {
  const img = await createImage(d.url);
  const r = await request(`${d.url}/v2/images/${img.id}/file`, {
    method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': 100 << 20 }, body: Buffer.alloc(0),
  }).catch((e) => ({ status: -1, e }) as any);
  assert.is(r.status, 413);
  // chunked, no size announced: refused once the cap is crossed
  const status = await new Promise<number>((resolve) => {
    const req = http.request(`${d.url}/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', () => {});
    const chunk = Buffer.alloc(1 << 20);
    let sent = 0;
    const pump = () => {
      while (sent < 80 && req.write(chunk)) sent++;
      if (sent < 80) req.once('drain', pump);
      else req.end();
    };
    pump();
  });
  assert.is(status, 413);
  await new Promise((r) => setTimeout(r, 100));
  assert.is((await show(d, img.id)).status, 'queued');
  assert.equal(leftovers(d), []);
  const u = await upload(d.url, img.id, Buffer.from('abc'), { 'X-Image-Meta-Store': 'nosuch' });
  assert.is(u.status, 400);
  assert.match(u.body.toString(), /nosuch/);
});

t('client abort mid-upload → image queued, no partial file; daemon still serves', async ({ d }) => {
  const img = await createImage(d.url);
  await new Promise<void>((resolve) => {
    const req = http.request(`${d.url}/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': 10 << 20 } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(3 << 20, 7), () => setTimeout(() => { req.destroy(); resolve(); }, 100));
  });
  for (let i = 0; i < 50 && (await show(d, img.id)).status !== 'queued'; i++) await new Promise((r) => setTimeout(r, 50));
  assert.is((await show(d, img.id)).status, 'queued');
  assert.equal(leftovers(d), []);
  assert.is((await upload(d.url, img.id, Buffer.from('hello'))).status, 204);
});

t('client abort mid-download and keep-alive reuse after downloads', async ({ d }) => {
  const big = randomBytes(32 << 20);
  const img = await createImage(d.url);
  await upload(d.url, img.id, big);
  await new Promise<void>((resolve) => {
    const req = http.get(`${d.url}/v2/images/${img.id}/file`, (res) => {
      res.once('data', () => { req.destroy(); resolve(); });
    });
    req.on('error', () => resolve());
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set();
  for (let i = 0; i < 4; i++) {
    const r = await new Promise<{ len: number; sock: unknown }>((resolve, reject) => {
      const req = http.get(`${d.url}/v2/images/${img.id}/file`, { agent, headers: { Range: 'bytes=0-999999' } }, (res) => {
        let len = 0;
        res.on('data', (c) => (len += c.length));
        res.on('end', () => resolve({ len, sock: req.socket }));
      });
      req.on('error', reject);
    });
    assert.is(r.len, 1000000);
    sockets.add(r.sock);
  }
  agent.destroy();
  assert.is(sockets.size, 1);
});

t('deactivate/reactivate: admin or the owning project; non-admin download of deactivated → 403; queued → 403', async ({ d, data }) => {
  const img = await createImage(d.url, {}, as('p1'));
  const act = (a: string, h: Record<string, string>) => request(`${d.url}/v2/images/${img.id}/actions/${a}`, { method: 'POST', headers: h });
  assert.is((await act('deactivate', ADMIN)).status, 403); // queued
  await upload(d.url, img.id, data, as('p1'));
  await request(`${d.url}/v2/images/${img.id}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/openstack-images-v2.1-json-patch', ...as('p1') },
    body: JSON.stringify([{ op: 'replace', path: '/visibility', value: 'community' }]),
  });
  assert.is((await act('deactivate', as('p2'))).status, 403); // sees it (community), does not own it
  assert.is((await act('deactivate', as('p1'))).status, 204); // the owner may (Glance: ADMIN_OR_PROJECT_MEMBER)
  assert.is((await act('reactivate', as('p1'))).status, 204);
  assert.is((await act('deactivate', ADMIN)).status, 204);
  assert.is((await show(d, img.id)).status, 'deactivated');
  const put = await upload(d.url, img.id, data, as('p1')); // Glance: 409, no transition from deactivated to saving
  assert.is(put.status, 409);
  assert.match(put.body.toString(), /deactivated/);
  const get = await request(`${d.url}/v2/images/${img.id}/actions/deactivate`, { headers: ADMIN });
  assert.is(get.status, 405);
  assert.is(get.headers.allow, 'POST');
  assert.is((await act('deactivate', ADMIN)).status, 204);
  assert.is((await request(`${d.url}/v2/images/${img.id}/file`, { headers: as('p1') })).status, 403);
  assert.is((await request(`${d.url}/v2/images/${img.id}/file`, { headers: ADMIN })).status, 200);
  assert.is((await act('reactivate', ADMIN)).status, 204);
  assert.is((await request(`${d.url}/v2/images/${img.id}/file`, { headers: as('p1') })).status, 200);
  assert.is((await act('explode', ADMIN)).status, 404);
});

t('delete removes the data file', async ({ d, data }) => {
  const img = await createImage(d.url);
  await upload(d.url, img.id, data);
  assert.ok(readdirSync(datadir(d)).includes(img.id));
  assert.is((await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE' })).status, 204);
  assert.not.ok(readdirSync(datadir(d)).includes(img.id));
});

t.run();
