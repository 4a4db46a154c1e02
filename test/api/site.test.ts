import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { startTestDaemon, ADMIN, as, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, upload } from '../helpers/http.js';

const single = suite<{ d: TestDaemon }>('site documents, single store');
single.before(async (ctx) => {
  ctx.d = await startTestDaemon({ showDirectUrl: true });
});
single.after(async (ctx) => ctx.d.stop());

single('versions at / and /versions → 300, v2.16 current', async ({ d }) => {
  for (const p of ['/', '/versions']) {
    const r = await request(`${d.url}${p}`);
    assert.is(r.status, 300);
    assert.is(r.json.versions[0].id, 'v2.16');
    assert.is(r.json.versions[0].status, 'CURRENT');
    assert.ok(r.json.versions.some((v: any) => v.id === 'v2.0'));
    assert.not.ok(r.json.versions.some((v: any) => v.id === 'v2.8'));
  }
});

single('healthcheck, schemas, info', async ({ d }) => {
  assert.is((await request(`${d.url}/healthcheck`)).status, 200);
  const s = await request(`${d.url}/v2/schemas/image`);
  assert.is(s.json.name, 'image');
  assert.ok(s.json.properties.disk_format.enum.includes('qcow2'));
  assert.not.ok('stores' in s.json.properties);
  assert.is(s.json.additionalProperties.type, 'string');
  assert.is((await request(`${d.url}/v2/schemas/images`)).json.name, 'images');
  assert.is((await request(`${d.url}/v2/schemas/member`)).json.name, 'member');
  assert.is((await request(`${d.url}/v2/schemas/members`)).json.name, 'members');
  const st = await request(`${d.url}/v2/info/stores`);
  assert.is(st.status, 404);
  assert.match(st.body.toString(), /Multi backend/);
  const imp = await request(`${d.url}/v2/info/import`);
  assert.is(imp.status, 200);
  assert.ok(Array.isArray(imp.json['import-methods'].value));
  assert.is((await request(`${d.url}/v2/nothing-here`)).status, 404);
});

single('direct_url when show_image_direct_url', async ({ d }) => {
  const img = await createImage(d.url);
  await upload(d.url, img.id, Buffer.from('abc'));
  const s = (await request(`${d.url}/v2/images/${img.id}`)).json;
  assert.is(s.direct_url, `file://${d.config.stores[0].datadir}/${img.id}`);
});

single('a deactivated image shows its direct_url to admins only, as glance-api 25', async ({ d }) => {
  const owner = as('p-deact', 'member,reader');
  const img = await createImage(d.url, { visibility: 'public' }, ADMIN);
  await upload(d.url, img.id, Buffer.from('abc'), ADMIN);
  assert.is((await request(`${d.url}/v2/images/${img.id}/actions/deactivate`, { method: 'POST', headers: ADMIN })).status, 204);
  const seen = async (h: Record<string, string>) => (await request(`${d.url}/v2/images/${img.id}`, { headers: h })).json;
  assert.is((await seen(ADMIN)).direct_url, `file://${d.config.stores[0].datadir}/${img.id}`);
  const other = await seen(owner);
  assert.is(other.status, 'deactivated');
  assert.not.ok('direct_url' in other, 'hidden from a non-admin');
  const listed = (await request(`${d.url}/v2/images?id=${img.id}`, { headers: owner })).json.images[0];
  assert.not.ok('direct_url' in listed, 'hidden in listings too');
  assert.is((await request(`${d.url}/v2/images/${img.id}/actions/reactivate`, { method: 'POST', headers: ADMIN })).status, 204);
  assert.is((await seen(owner)).direct_url, `file://${d.config.stores[0].datadir}/${img.id}`);
});

single('malformed HTTP and oversize headers get 4xx, never a crash', async ({ d }) => {
  const raw = (payload: string) => new Promise<string>((resolve) => {
    const port = Number(new URL(d.url).port);
    const s = net.connect(port, '127.0.0.1', () => s.end(payload));
    let out = '';
    s.on('data', (c) => (out += c));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });
  assert.match(await raw('GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400/);
  assert.match(await raw(`GET /v2/images HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70000)}\r\n\r\n`), /^HTTP\/1\.1 431/);
  assert.is((await request(`${d.url}/v2/images/%E0%A4%A`)).status < 500, true);
  assert.is((await request(`${d.url}/v2/images?limit=%ZZ`)).status < 500, true);
  assert.is((await request(`${d.url}/healthcheck`)).status, 200);
});

single.run();

const multi = suite<{ d: TestDaemon }>('multi-store');
multi.before(async (ctx) => {
  ctx.d = await startTestDaemon({ multiStore: true });
});
multi.after(async (ctx) => ctx.d.stop());

multi('info/stores lists stores with default "true"; detail is admin-only', async ({ d }) => {
  const r = await request(`${d.url}/v2/info/stores`);
  assert.is(r.status, 200);
  assert.equal(r.json.stores.map((s: any) => s.id), ['fast', 'slow']);
  assert.is(r.json.stores[0].default, 'true');
  assert.not.ok('default' in r.json.stores[1]);
  assert.is((await request(`${d.url}/v2/info/stores/detail`, { headers: as('p1') })).status, 403);
  const det = await request(`${d.url}/v2/info/stores/detail`, { headers: ADMIN });
  assert.is(det.json.stores[0].type, 'file');
  assert.is(det.json.stores[0].properties.data_dir, d.config.stores[0].datadir);
  const v = await request(`${d.url}/versions`);
  assert.ok(v.json.versions.some((x: any) => x.id === 'v2.8'));
});

multi('X-Image-Meta-Store picks the store; stores field; deleting the only copy is 403', async ({ d }) => {
  const img = await createImage(d.url);
  const r = await upload(d.url, img.id, Buffer.from('slow bytes'), { 'X-Image-Meta-Store': 'slow' });
  assert.is(r.status, 204);
  const s = (await request(`${d.url}/v2/images/${img.id}`)).json;
  assert.is(s.stores, 'slow');
  const del = await request(`${d.url}/v2/stores/slow/${img.id}`, { method: 'DELETE' });
  assert.is(del.status, 403);
  assert.is((await request(`${d.url}/v2/stores/fast/${img.id}`, { method: 'DELETE' })).status, 404);
  assert.is((await request(`${d.url}/v2/stores/nosuch/${img.id}`, { method: 'DELETE' })).status, 404);
  const img2 = await createImage(d.url);
  await upload(d.url, img2.id, Buffer.from('fast bytes'));
  assert.is((await request(`${d.url}/v2/images/${img2.id}`)).json.stores, 'fast');
  const created = await request(`${d.url}/v2/images`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.is(created.headers['openstack-image-store-ids'], 'fast,slow');
});

multi.run();
