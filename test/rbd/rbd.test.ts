import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestDaemon, ADMIN, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, upload, PATCH_TYPE } from '../helpers/http.js';
import { cephEnv, cephScript, rbdCli, type CephEnv } from '../helpers/ceph.js';
import type { Config, StoreConfig } from '../../src/config/index.js';

// The RBD store against the real one-node Ceph cluster that test/run starts (test/env/ceph.sh).

function withRbd(c: Config, ceph: CephEnv, o: { user?: string; conf?: string; timeout?: number } = {}) {
  const rbd: StoreConfig = {
    ...c.stores[0], id: 'ceph', type: 'rbd', description: 'Ceph RBD', weight: 0, isDefault: true, datadir: undefined,
    options: {}, thinProvisioning: false,
    rbd: { pool: ceph.pool, user: o.user ?? 'glance', cephConf: o.conf ?? ceph.conf, order: 23, connectTimeout: o.timeout ?? 5 },
  };
  c.stores = [rbd, { ...c.stores[0], id: 'local', isDefault: false }];
  c.defaultStore = 'ceph';
  c.multiStore = true;
  c.showImageDirectUrl = true;
}

async function waitAvailable(d: TestDaemon, store = 'ceph', ms = 30_000) {
  const until = Date.now() + ms;
  for (;;) {
    const r = await request(`${d.url}/v2/info/stores/detail`, { headers: ADMIN });
    const s = r.json.stores.find((x: any) => x.id === store);
    if (!s.unavailable) return;
    if (Date.now() > until) throw new Error(`store ${store} still unavailable: ${s.unavailable}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

const t = suite<{ d: TestDaemon; ceph: CephEnv }>('rbd store on a real Ceph cluster');
t.before(async (ctx) => {
  ctx.ceph = cephEnv();
  ctx.d = await startTestDaemon({
    tweak: (c) => {
      withRbd(c, ctx.ceph);
      c.showMultipleLocations = true; // Glance's switch for registering existing data by location
    },
    showDirectUrl: true,
  });
  await waitAvailable(ctx.d);
});
t.after(async (ctx) => ctx.d?.stop());

t('upload with known size: glance_store layout (format 2, layering, protected snap), location, download, ranges', async ({ d, ceph }) => {
  const data = randomBytes(20 * 1024 * 1024 + 5);
  const img = await createImage(d.url, { name: 'rbd-known' });
  const r = await upload(d.url, img.id, data, { 'x-openstack-image-size': data.length });
  assert.is(r.status, 204, r.body.toString());
  const s = (await request(`${d.url}/v2/images/${img.id}`)).json;
  assert.is(s.status, 'active');
  assert.is(s.stores, 'ceph');
  assert.is(s.checksum, md5(data));
  assert.is(s.direct_url, `rbd://${ceph.fsid}/${ceph.pool}/${img.id}/snap`);
  const info = JSON.parse(await rbdCli(ceph, 'info', '--format', 'json', `${ceph.pool}/${img.id}`));
  assert.is(info.format, 2);
  assert.ok(info.features.includes('layering'));
  assert.is(info.size, data.length);
  assert.is(info.order, 23);
  const snaps = JSON.parse(await rbdCli(ceph, 'snap', 'ls', '--format', 'json', `${ceph.pool}/${img.id}`));
  assert.equal(snaps.map((x: any) => x.name), ['snap']);
  const prot = JSON.parse(await rbdCli(ceph, 'info', '--format', 'json', `${ceph.pool}/${img.id}@snap`));
  assert.is(prot.protected, 'true');
  const g = await request(`${d.url}/v2/images/${img.id}/file`);
  assert.is(g.status, 200);
  assert.ok(g.body.equals(data));
  const rg = await request(`${d.url}/v2/images/${img.id}/file`, { headers: { Range: 'bytes=9000000-17000000' } });
  assert.is(rg.status, 206); // Glance answers 400 for ranges on rbd; imaged serves them
  assert.ok(rg.body.equals(data.subarray(9000000, 17000001)));
});

t('unknown size (chunked) grows then trims to the exact size', async ({ d, ceph }) => {
  const data = randomBytes(19 * 1024 * 1024 + 333);
  const img = await createImage(d.url, { name: 'rbd-chunked' });
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(`${d.url}/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    for (let o = 0; o < data.length; o += 65536) req.write(data.subarray(o, o + 65536));
    req.end();
  });
  assert.is(status, 204);
  const info = JSON.parse(await rbdCli(ceph, 'info', '--format', 'json', `${ceph.pool}/${img.id}`));
  assert.is(info.size, data.length);
  assert.ok((await request(`${d.url}/v2/images/${img.id}/file`)).body.equals(data));
});

t('a clone (a VM disk) blocks delete with 409 and nothing is removed; after the clone goes, delete removes all', async ({ d, ceph }) => {
  const data = randomBytes(4 << 20);
  const img = await createImage(d.url, { name: 'rbd-cloned' });
  await upload(d.url, img.id, data);
  const vm = `vm-${img.id.slice(0, 8)}`;
  await rbdCli(ceph, 'clone', `${ceph.pool}/${img.id}@snap`, `${ceph.pool}/${vm}`);
  const del = await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE' });
  assert.is(del.status, 409);
  assert.match(del.body.toString(), /in use/);
  assert.is((await request(`${d.url}/v2/images/${img.id}`)).json.status, 'active');
  assert.ok((await rbdCli(ceph, 'ls', ceph.pool)).includes(img.id));
  await rbdCli(ceph, 'rm', `${ceph.pool}/${vm}`);
  assert.is((await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE' })).status, 204);
  assert.not.ok((await rbdCli(ceph, 'ls', ceph.pool)).includes(img.id));
});

t('serves an image written by rbd import + snap + protect when given its location', async ({ d, ceph }) => {
  const data = randomBytes(3 << 20);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'imaged-rbd-'));
  const file = path.join(tmp, 'disk.raw');
  writeFileSync(file, data);
  const img = await createImage(d.url, { name: 'rbd-imported' });
  await rbdCli(ceph, 'import', '--image-format', '2', '--image-feature', 'layering', file, `${ceph.pool}/${img.id}`);
  await rbdCli(ceph, 'snap', 'create', `${ceph.pool}/${img.id}@snap`);
  await rbdCli(ceph, 'snap', 'protect', `${ceph.pool}/${img.id}@snap`);
  const url = `rbd://${ceph.fsid}/${ceph.pool}/${img.id}/snap`;
  const r = await request(`${d.url}/v2/images/${img.id}`, {
    method: 'PATCH', headers: { 'Content-Type': PATCH_TYPE },
    body: JSON.stringify([{ op: 'add', path: '/locations/-', value: { url, metadata: {}, validation_data: { checksum: md5(data) } } }]),
  });
  assert.is(r.status, 200, r.body.toString());
  assert.is(r.json.status, 'active');
  assert.is(r.json.size, data.length);
  const g = await request(`${d.url}/v2/images/${img.id}/file`);
  assert.ok(g.body.equals(data));
  const bad = await createImage(d.url, { name: 'bad-location' });
  const r2 = await request(`${d.url}/v2/images/${bad.id}`, {
    method: 'PATCH', headers: { 'Content-Type': PATCH_TYPE },
    body: JSON.stringify([{ op: 'add', path: '/locations/-', value: { url: `rbd://${ceph.fsid}/${ceph.pool}/nosuch/snap`, metadata: {} } }]),
  });
  assert.is(r2.status, 400);
  assert.is((await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE' })).status, 204);
});

t('upload aborted midway: partial rbd image removed, image queued', async ({ d, ceph }) => {
  const img = await createImage(d.url, { name: 'rbd-aborted' });
  await new Promise<void>((resolve) => {
    const req = http.request(`${d.url}/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': 64 << 20 } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(8 << 20, 9), () => setTimeout(() => { req.destroy(); resolve(); }, 300));
  });
  let st = '';
  for (let i = 0; i < 100; i++) {
    st = (await request(`${d.url}/v2/images/${img.id}`)).json.status;
    if (st === 'queued' && !(await rbdCli(ceph, 'ls', ceph.pool)).includes(img.id)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.is(st, 'queued');
  assert.not.ok((await rbdCli(ceph, 'ls', ceph.pool)).includes(img.id));
});

t('cluster unreachable at start: store listed unavailable, uploads 503, recovers when reachable', async ({ ceph }) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'imaged-rbdconf-'));
  const conf = path.join(tmp, 'ceph.conf');
  const good = readFileSync(ceph.conf, 'utf8');
  writeFileSync(conf, good.replace(/mon[ _]host\s*=.*/g, 'mon host = 127.0.0.1:1'));
  const d = await startTestDaemon({ tweak: (c) => withRbd(c, ceph, { conf, timeout: 2 }) });
  try {
    const det = await request(`${d.url}/v2/info/stores/detail`, { headers: ADMIN });
    const s = det.json.stores.find((x: any) => x.id === 'ceph');
    assert.ok(s.unavailable, 'store should be unavailable');
    const img = await createImage(d.url);
    const up = await upload(d.url, img.id, Buffer.alloc(1024, 1));
    assert.is(up.status, 503);
    assert.is((await request(`${d.url}/v2/images/${img.id}`)).json.status, 'queued');
    // local store still works
    assert.is((await upload(d.url, img.id, Buffer.alloc(1024, 1), { 'X-Image-Meta-Store': 'local' })).status, 204);
    copyFileSync(ceph.conf, conf);
    await waitAvailable(d, 'ceph', 30_000);
    const img2 = await createImage(d.url);
    assert.is((await upload(d.url, img2.id, Buffer.alloc(1024, 2))).status, 204);
  } finally {
    await d.stop();
  }
});

t('wrong cephx user: the reason names the user and the keyring', async ({ ceph }) => {
  const d = await startTestDaemon({ tweak: (c) => withRbd(c, ceph, { user: 'nosuchuser', timeout: 2 }) });
  try {
    let reason = '';
    for (let i = 0; i < 50; i++) {
      const det = await request(`${d.url}/v2/info/stores/detail`, { headers: ADMIN });
      reason = det.json.stores.find((x: any) => x.id === 'ceph').unavailable ?? '';
      if (reason && !/connecting/.test(reason)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(reason, /client\.nosuchuser/);
    assert.match(reason, /keyring/);
  } finally {
    await d.stop();
  }
});

t('OSD stopped mid-download: the client sees a failed transfer, the daemon stays up', async ({ d, ceph }) => {
  const data = randomBytes(96 << 20);
  const img = await createImage(d.url, { name: 'rbd-osd-stop' });
  assert.is((await upload(d.url, img.id, data)).status, 204);
  const result = await new Promise<{ complete: boolean; len: number }>((resolve) => {
    const req = http.get(`${d.url}/v2/images/${img.id}/file`, (res) => {
      let len = 0;
      let stopped = false;
      res.on('data', (c) => {
        len += c.length;
        if (!stopped && len > 4 << 20) {
          stopped = true;
          res.pause();
          void cephScript(ceph, 'stop-osd').then(() => res.resume());
        }
      });
      res.on('end', () => resolve({ complete: res.complete, len }));
      res.on('error', () => resolve({ complete: false, len }));
      res.on('aborted', () => resolve({ complete: false, len }));
    });
    req.on('error', () => resolve({ complete: false, len: -1 }));
  });
  await cephScript(ceph, 'start-osd');
  assert.ok(result.len < data.length && !result.complete, `a transfer cut by the OSD stop must not look complete: got ${result.len} of ${data.length}`);
  assert.is((await request(`${d.url}/healthcheck`)).status, 200);
  await waitAvailable(d, 'ceph', 60_000);
});

t.run();
