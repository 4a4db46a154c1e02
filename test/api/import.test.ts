import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import http from 'node:http';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { startTestDaemon, ADMIN, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, jsonHeaders } from '../helpers/http.js';
import { run } from '../helpers/proc.js';

// Interoperable import on a multi-store daemon (file stores fast + slow) and a local HTTP source for web-download.

interface Ctx { d: TestDaemon; web: http.Server; webUrl: string; data: Buffer }
const t = suite<Ctx>('interoperable import');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

t.before(async (ctx) => {
  ctx.data = randomBytes(3 << 20);
  ctx.web = http.createServer((req, res) => {
    if (req.url === '/disk.raw') return res.end(ctx.data);
    if (req.url === '/redirect-internal') {
      res.writeHead(302, { Location: 'http://10.1.2.3/disk.raw' });
      return res.end();
    }
    if (req.url === '/slow') {
      res.writeHead(200);
      let n = 0;
      const tick = setInterval(() => {
        res.write(ctx.data.subarray(n * 65536, (n + 1) * 65536));
        if (++n * 65536 >= ctx.data.length) {
          clearInterval(tick);
          res.end();
        }
      }, 20);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => ctx.web.listen(0, '127.0.0.1', r));
  const port = (ctx.web.address() as any).port;
  ctx.webUrl = `http://127.0.0.1:${port}`;
  // the noauth identity (project admin, roles admin,member,reader): copy-image is admin's by Glance's policy
  ctx.d = await startTestDaemon({
    multiStore: true,
    trustHeaders: false,
    tweak: (c) => {
      c.importFilter.allowedPorts = [80, 443, port];
      c.importFilter.allowedHosts = ['127.0.0.1'];
    },
  });
});
t.after(async (ctx) => {
  await ctx.d.stop();
  ctx.web.close();
});

async function waitImport(d: TestDaemon, id: string, ms = 20_000, headers: Record<string, string> = {}) {
  const until = Date.now() + ms;
  for (;;) {
    const img = (await request(`${d.url}/v2/images/${id}`, { headers })).json;
    if (!img.os_glance_importing_to_stores && img.status !== 'importing' && !img.os_glance_import_task) return img;
    if (Date.now() > until) throw new Error(`import did not finish: ${JSON.stringify(img)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const importReq = (d: TestDaemon, id: string, body: object, headers: Record<string, string> = {}) =>
  request(`${d.url}/v2/images/${id}/import`, { method: 'POST', headers: jsonHeaders(headers), body: JSON.stringify(body) });
const stage = (d: TestDaemon, id: string, data: Buffer, headers: Record<string, string> = {}) =>
  request(`${d.url}/v2/images/${id}/stage`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length, ...headers }, body: data });

t('info/import lists the methods; glance-direct into two stores', async ({ d, data }) => {
  const info = await request(`${d.url}/v2/info/import`);
  assert.equal(info.json['import-methods'].value, ['glance-direct', 'web-download', 'copy-image']);
  const img = await createImage(d.url, { name: 'gd' });
  assert.is((await stage(d, img.id, data)).status, 204);
  assert.is((await request(`${d.url}/v2/images/${img.id}`)).json.status, 'uploading');
  const r = await importReq(d, img.id, { method: { name: 'glance-direct' }, stores: ['fast', 'slow'] });
  assert.is(r.status, 202);
  assert.is(r.body.length, 0);
  const done = await waitImport(d, img.id);
  assert.is(done.status, 'active');
  assert.is(done.stores, 'fast,slow');
  assert.is(done.checksum, md5(data));
  assert.is(done.os_glance_failed_import, '');
  assert.ok((await request(`${d.url}/v2/images/${img.id}/file`)).body.equals(data));
  assert.equal(readdirSync(path.join(d.config.imaged.stateDir, 'staging')), [], 'staging is emptied after the import');
});

t('copy-image into another store, verified', async ({ d, data }) => {
  const img = await createImage(d.url, { name: 'cp' });
  await stage(d, img.id, data);
  await importReq(d, img.id, { method: { name: 'glance-direct' } });
  assert.is((await waitImport(d, img.id)).stores, 'fast');
  assert.is((await importReq(d, img.id, { method: { name: 'copy-image' }, stores: ['slow'] })).status, 202);
  const done = await waitImport(d, img.id);
  assert.is(done.stores, 'fast,slow');
  const slowDir = d.config.stores.find((s) => s.id === 'slow')!.datadir!;
  assert.ok(readFileSync(path.join(slowDir, img.id)).equals(data));
  // only one copy left afterwards is still refused
  assert.is((await request(`${d.url}/v2/stores/fast/${img.id}`, { method: 'DELETE' })).status, 204);
  assert.is((await request(`${d.url}/v2/stores/slow/${img.id}`, { method: 'DELETE' })).status, 403);
});

t('imports set virtual_size from the data: glance-direct (qcow2 header), web-download (raw), copy-image', async ({ d, data, webUrl }) => {
  const q = Buffer.alloc(64 << 10);
  q.write('QFI\xfb', 0, 'latin1');
  q.writeUInt32BE(3, 4);
  q.writeBigUInt64BE(5n << 30n, 24);
  const gd = await createImage(d.url, { name: 'vs-gd', disk_format: 'qcow2' });
  await stage(d, gd.id, q);
  assert.is((await request(`${d.url}/v2/images/${gd.id}`)).json.virtual_size, null, 'staging alone does not set it (as Glance)');
  await importReq(d, gd.id, { method: { name: 'glance-direct' }, stores: ['fast', 'slow'] });
  const g = await waitImport(d, gd.id);
  assert.is(g.status, 'active');
  assert.is(g.virtual_size, 5 * 2 ** 30);

  const wd = await createImage(d.url, { name: 'vs-wd' });
  await importReq(d, wd.id, { method: { name: 'web-download', uri: `${webUrl}/disk.raw` } });
  const w = await waitImport(d, wd.id);
  assert.is(w.status, 'active');
  assert.is(w.virtual_size, data.length);

  const cp = await createImage(d.url, { name: 'vs-cp', disk_format: 'qcow2', container_format: 'ovf' });
  await stage(d, cp.id, q);
  await importReq(d, cp.id, { method: { name: 'glance-direct' } });
  assert.is((await waitImport(d, cp.id)).virtual_size, null, 'not a bare container: not inspected');
  // copy-image keeps the size it has
  await request(`${d.url}/v2/stores/slow/${gd.id}`, { method: 'DELETE' });
  assert.is((await importReq(d, gd.id, { method: { name: 'copy-image' }, stores: ['slow'] })).status, 202);
  const c = await waitImport(d, gd.id);
  assert.is(c.stores, 'fast,slow');
  assert.is(c.virtual_size, 5 * 2 ** 30);
});

t('a store that fails: all_stores_must_succeed false keeps the good copy; true undoes everything', async ({ d, data }) => {
  const slowDir = d.config.stores.find((s) => s.id === 'slow')!.datadir!;
  rmSync(slowDir, { recursive: true });
  try {
    const a = await createImage(d.url, { name: 'partial' });
    await stage(d, a.id, data);
    await importReq(d, a.id, { method: { name: 'glance-direct' }, stores: ['fast', 'slow'], all_stores_must_succeed: false });
    const ia = await waitImport(d, a.id);
    assert.is(ia.status, 'active');
    assert.is(ia.stores, 'fast');
    assert.is(ia.os_glance_failed_import, 'slow');
    const b = await createImage(d.url, { name: 'all-or-nothing' });
    await stage(d, b.id, data);
    // every store must succeed and one is down: refused at once (503), the image stays as it was
    const rb = await importReq(d, b.id, { method: { name: 'glance-direct' }, stores: ['fast', 'slow'] });
    assert.is(rb.status, 503);
    assert.match(rb.body.toString(), /slow/);
    const ib = await waitImport(d, b.id);
    assert.is(ib.status, 'uploading');
    assert.not.ok(ib.stores);
    const fastDir = d.config.stores.find((s) => s.id === 'fast')!.datadir!;
    assert.not.ok(readdirSync(fastDir).includes(b.id), 'the fast copy was undone');
  } finally {
    (await import('node:fs')).mkdirSync(slowDir, { recursive: true });
  }
});

/** Flips one byte in the middle of a file: same size, other hash. */
function corrupt(file: string) {
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    const at = Math.floor(fstatSync(fd).size / 2);
    readSync(fd, b, 0, 1, at);
    b[0] ^= 0xff;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

t('copy-image from a source whose bytes no longer hash to the image: refused, not listed in stores, nothing left in the target', async ({ d, data }) => {
  const img = await createImage(d.url, { name: 'rotten-source' }, ADMIN);
  await stage(d, img.id, data, ADMIN);
  await importReq(d, img.id, { method: { name: 'glance-direct' }, stores: ['fast'] }, ADMIN);
  const before = await waitImport(d, img.id, 20_000, ADMIN);
  assert.is(before.stores, 'fast');
  const fastDir = d.config.stores.find((s) => s.id === 'fast')!.datadir!;
  const slowDir = d.config.stores.find((s) => s.id === 'slow')!.datadir!;
  corrupt(path.join(fastDir, img.id));
  assert.is((await importReq(d, img.id, { method: { name: 'copy-image' }, stores: ['slow'] }, ADMIN)).status, 202);
  const after = await waitImport(d, img.id, 20_000, ADMIN);
  assert.is(after.stores, 'fast');
  assert.is(after.os_glance_failed_import, 'slow');
  assert.is(after.status, 'active');
  assert.is(after.checksum, md5(data), 'the image keeps its checksums');
  assert.equal(readdirSync(slowDir).filter((n) => n.includes(img.id)), [], 'no copy, complete or partial, in slow');
});

t('copy-image of an image with only an md5 (from before os_hash_value): verified by md5, a corrupt source refused', async ({ d, data }) => {
  const fastDir = d.config.stores.find((s) => s.id === 'fast')!.datadir!;
  const slowDir = d.config.stores.find((s) => s.id === 'slow')!.datadir!;
  const md5Only = async (name: string) => {
    const img = await createImage(d.url, { name }, ADMIN);
    await stage(d, img.id, data, ADMIN);
    await importReq(d, img.id, { method: { name: 'glance-direct' }, stores: ['fast'] }, ADMIN);
    assert.is((await waitImport(d, img.id, 20_000, ADMIN)).stores, 'fast');
    await d.daemon.internals.catalog.update(img.id, (cur) => ({ ...cur, os_hash_algo: null, os_hash_value: null }));
    return img.id;
  };
  const good = await md5Only('md5-only');
  assert.is((await importReq(d, good, { method: { name: 'copy-image' }, stores: ['slow'] }, ADMIN)).status, 202);
  const g = await waitImport(d, good, 20_000, ADMIN);
  assert.is(g.stores, 'fast,slow');
  assert.is(g.os_glance_failed_import, '');
  assert.ok(readFileSync(path.join(slowDir, good)).equals(data));

  const bad = await md5Only('md5-only-rotten');
  corrupt(path.join(fastDir, bad));
  assert.is((await importReq(d, bad, { method: { name: 'copy-image' }, stores: ['slow'] }, ADMIN)).status, 202);
  const b = await waitImport(d, bad, 20_000, ADMIN);
  assert.is(b.stores, 'fast');
  assert.is(b.os_glance_failed_import, 'slow');
  assert.equal(readdirSync(slowDir).filter((n) => n.includes(bad)), []);
});

t('glance-direct from staged data altered after staging: refused in every store, image back to uploading', async ({ d, data }) => {
  const img = await createImage(d.url, { name: 'rotten-stage' }, ADMIN);
  assert.is((await stage(d, img.id, data, ADMIN)).status, 204);
  corrupt(path.join(d.config.imaged.stateDir, 'staging', img.id));
  assert.is((await importReq(d, img.id, { method: { name: 'glance-direct' }, stores: ['fast', 'slow'], all_stores_must_succeed: false }, ADMIN)).status, 202);
  const after = await waitImport(d, img.id, 20_000, ADMIN);
  assert.is(after.status, 'uploading');
  assert.not.ok(after.stores);
  assert.is(after.checksum, null);
  assert.is(after.os_glance_failed_import, 'fast,slow');
  for (const s of d.config.stores) assert.equal(readdirSync(s.datadir!).filter((n) => n.includes(img.id)), [], s.id);
  assert.is((await request(`${d.url}/v2/images/${img.id}/file`, { headers: ADMIN })).status, 204, 'no data to download');
});

t('image_size_cap: PUT /stage over it → 413 and the image back to queued; a web-download over it fails the import (Glance\'s task does the same)', async ({ data, webUrl }) => {
  const port = Number(new URL(webUrl).port);
  const d = await startTestDaemon({
    multiStore: true,
    imageSizeCap: 1 << 20,
    tweak: (c) => {
      c.importFilter.allowedPorts = [80, 443, port];
      c.importFilter.allowedHosts = ['127.0.0.1'];
    },
  });
  try {
    const staging = path.join(d.config.imaged.stateDir, 'staging');
    const announced = await createImage(d.url, { name: 'stage-big' }, ADMIN);
    const r = await stage(d, announced.id, data, ADMIN).catch(() => ({ status: -1, body: Buffer.alloc(0) }));
    assert.is(r.status, 413, r.body.toString());
    assert.is((await request(`${d.url}/v2/images/${announced.id}`, { headers: ADMIN })).json.status, 'queued');
    // streamed without a size: refused once past the cap
    const chunked = await createImage(d.url, { name: 'stage-big-chunked' }, ADMIN);
    const code = await new Promise<number>((resolve) => {
      const req = http.request(`${d.url}/v2/images/${chunked.id}/stage`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked', ...ADMIN } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', () => {});
      let off = 0;
      const pump = () => {
        while (off < data.length && req.write(data.subarray(off, off + 65536))) off += 65536;
        if (off < data.length) req.once('drain', () => { off += 65536; pump(); });
        else req.end();
      };
      pump();
    });
    assert.is(code, 413);
    assert.is((await request(`${d.url}/v2/images/${chunked.id}`, { headers: ADMIN })).json.status, 'queued');
    // at the cap exactly is fine
    const fits = await createImage(d.url, { name: 'stage-fits' }, ADMIN);
    assert.is((await stage(d, fits.id, data.subarray(0, 1 << 20), ADMIN)).status, 204);

    const web = await createImage(d.url, { name: 'web-big' }, ADMIN);
    assert.is((await importReq(d, web.id, { method: { name: 'web-download', uri: `${webUrl}/disk.raw` } }, ADMIN)).status, 202);
    const w = await waitImport(d, web.id, 20_000, ADMIN);
    assert.is(w.status, 'queued');
    assert.not.ok(w.stores);
    assert.is(w.os_glance_failed_import, 'fast');
    for (const s of d.config.stores) assert.equal(readdirSync(s.datadir!).filter((n) => n.includes(web.id)), [], s.id);
    assert.equal(readdirSync(staging).filter((n) => n !== fits.id), [], 'nothing over the cap is left in staging');
  } finally {
    await d.stop();
  }
});

t('web-download: allowed source works; SSRF, bad ports and schemes are refused; redirects are re-checked', async ({ d, data, webUrl }) => {
  const img = await createImage(d.url, { name: 'web' });
  assert.is((await importReq(d, img.id, { method: { name: 'web-download', uri: `${webUrl}/disk.raw` } })).status, 202);
  const done = await waitImport(d, img.id);
  assert.is(done.status, 'active');
  assert.is(done.checksum, md5(data));
  const bad = await createImage(d.url, { name: 'web-bad' });
  for (const uri of ['file:///etc/passwd', 'ftp://127.0.0.1/x', 'http://127.0.0.1:1/x', 'http://169.254.169.254/latest/meta-data', 'http://localhost/x', 'not a url']) {
    const r = await importReq(d, bad.id, { method: { name: 'web-download', uri } });
    assert.is(r.status, 400, `${uri} → ${r.status} ${r.body}`);
  }
  const r = await importReq(d, bad.id, { method: { name: 'web-download', uri: `${webUrl}/redirect-internal` } });
  assert.is(r.status, 202);
  const failed = await waitImport(d, bad.id);
  assert.is(failed.status, 'queued');
  assert.match(failed.os_glance_failed_import, /fast/);
});

t('bad import requests and the import lock', async ({ d, data, webUrl }) => {
  const img = await createImage(d.url, { name: 'bad' });
  const cases: Array<[object, Record<string, string>, number]> = [
    [{ method: { name: 'teleport' } }, {}, 400],
    [{ method: { name: 'glance-direct' } }, {}, 409],
    [{ method: { name: 'copy-image' }, stores: ['slow'] }, {}, 409],
    [{ method: { name: 'glance-direct' }, stores: ['nosuch'] }, {}, 400],
    [{ method: { name: 'glance-direct' }, stores: ['fast'] }, { 'X-Image-Meta-Store': 'fast' }, 400],
    [{ method: 'glance-direct' }, {}, 400],
    [{ method: { name: 'web-download' } }, {}, 400],
  ];
  for (const [body, h, status] of cases) {
    const r = await importReq(d, img.id, body, h);
    assert.is(r.status, status, `${JSON.stringify(body)} → ${r.status} ${r.body}`);
  }
  const slow = await createImage(d.url, { name: 'locked' });
  assert.is((await importReq(d, slow.id, { method: { name: 'web-download', uri: `${webUrl}/slow` } })).status, 202);
  const second = await importReq(d, slow.id, { method: { name: 'web-download', uri: `${webUrl}/slow` } });
  assert.is(second.status, 409);
  const done = await waitImport(d, slow.id);
  assert.is(done.status, 'active');
  assert.is(done.checksum, md5(data));
});

t('glance image-create-via-import and openstack image create --import work unchanged', async ({ d, data }) => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'imaged-import-home-'));
  const file = path.join(home, 'disk.raw');
  writeFileSync(file, data);
  const env = { PATH: '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8' };
  // glanceclient 4.1 builds its flags from the image schema: image-create-via-import --stores can't work with
  // it (a schema with `stores` breaks every later command; one without makes --stores a KeyError), so the
  // multi-store path is the default store first, then image-import copy-image --stores. Stdin is closed
  // (<&-): glanceclient treats any non-tty stdin as image data.
  const glance = (args: string) =>
    run('bash', ['-c', `/usr/bin/glance --os-image-url ${d.url} --os-auth-token x ${args} <&-`], { env, timeoutMs: 90_000 });
  const gl = await glance(`image-create-via-import --name via-import --disk-format raw --container-format bare --file ${file}`);
  assert.is(gl.code, 0, gl.stdout + gl.stderr);
  const id = /\|\s+id\s+\|\s+([0-9a-f-]{36})/.exec(gl.stdout)?.[1];
  assert.ok(id, gl.stdout);
  assert.is((await waitImport(d, id!)).stores, 'fast');
  const cp = await glance(`image-import --import-method copy-image --stores slow ${id}`);
  assert.is(cp.code, 0, cp.stdout + cp.stderr);
  const done = await waitImport(d, id!);
  assert.is(done.stores, 'fast,slow');
  assert.is(done.checksum, md5(data));
  assert.is((await glance(`image-show ${id}`)).code, 0);
  const osc = await run('/usr/bin/openstack', ['--os-auth-type', 'none', '--os-endpoint', d.url, 'image', 'create', '--import', '--file', file,
    '--disk-format', 'raw', '--container-format', 'bare', '-f', 'json', 'osc-import'], { env, timeoutMs: 90_000 });
  assert.is(osc.code, 0, osc.stderr);
  const oid = JSON.parse(osc.stdout).id;
  assert.is((await waitImport(d, oid)).checksum, md5(data));
  rmSync(home, { recursive: true, force: true });
});

t.run();
