import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startTestDaemon, as, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, jsonHeaders, upload, PATCH_TYPE } from '../helpers/http.js';
import { parseStorageQuota } from '../../src/images/quota.js';
import { errors, loadText } from '../config/helpers.js';
import { formatEffectiveConfig } from '../../src/config/index.js';

// Glance's legacy quotas, with its status codes and messages (glance/quota/__init__.py, glance/api/v2/*.py).

const t = suite<{ d: TestDaemon }>('legacy quotas');
t.before(async (ctx) => {
  ctx.d = await startTestDaemon({
    tweak: (c) => {
      c.quotas = { tags: 2, properties: 3, locations: 10, storage: 3000 };
      c.userStorageQuota = '3000';
    },
  });
});
t.after(async (ctx) => {
  await ctx.d.stop();
});

const patch = (base: string, id: string, ops: unknown, headers: Record<string, string>) =>
  request(`${base}/v2/images/${id}`, { method: 'PATCH', headers: { 'Content-Type': PATCH_TYPE, ...headers }, body: JSON.stringify(ops) });
const create = (base: string, body: object, headers: Record<string, string>) =>
  request(`${base}/v2/images`, { method: 'POST', headers: jsonHeaders(headers), body: JSON.stringify({ disk_format: 'raw', container_format: 'bare', ...body }) });

t('image_tag_quota: 413 on create, PATCH and PUT tag, in Glance\'s words', async ({ d }) => {
  const me = as('tags', 'member,reader');
  let r = await create(d.url, { tags: ['a', 'b', 'c'] }, me);
  assert.is(r.status, 413);
  assert.match(r.body.toString(), /The limit has been exceeded on the number of allowed image tags\. Attempted: 3, Maximum: 2/);
  const img = await createImage(d.url, { tags: ['a', 'b'] }, me);
  r = await request(`${d.url}/v2/images/${img.id}/tags/c`, { method: 'PUT', headers: me });
  assert.is(r.status, 413);
  assert.match(r.body.toString(), new RegExp(`Image tag limit exceeded for image ${img.id}: The limit has been exceeded on the number of allowed image tags\\. Attempted: 3, Maximum: 2:`));
  assert.is((await request(`${d.url}/v2/images/${img.id}/tags/a`, { method: 'PUT', headers: me })).status, 204, 'an existing tag adds nothing');
  r = await patch(d.url, img.id, [{ op: 'replace', path: '/tags', value: ['x', 'y', 'z'] }], me);
  assert.is(r.status, 413);
  assert.equal((await request(`${d.url}/v2/images/${img.id}`, { headers: me })).json.tags.sort(), ['a', 'b']);
});

t('image_property_quota: 413 on create and when PATCH adds one; removing from an image at the limit works', async ({ d }) => {
  const me = as('props', 'member,reader');
  let r = await create(d.url, { p1: '1', p2: '2', p3: '3', p4: '4' }, me);
  assert.is(r.status, 413);
  assert.match(r.body.toString(), /The limit has been exceeded on the number of allowed image properties\. Attempted: 4, Maximum: 3/);
  const img = await createImage(d.url, { p1: '1', p2: '2', p3: '3' }, me);
  r = await patch(d.url, img.id, [{ op: 'add', path: '/p4', value: '4' }], me);
  assert.is(r.status, 413);
  assert.match(r.body.toString(), /Attempted: 4, Maximum: 3/);
  r = await patch(d.url, img.id, [{ op: 'replace', path: '/p1', value: 'x' }, { op: 'remove', path: '/p2' }], me);
  assert.is(r.status, 200);
  r = await patch(d.url, img.id, [{ op: 'add', path: '/p4', value: '4' }], me);
  assert.is(r.status, 200, 'fits again after the remove');
});

const storeFiles = (d: TestDaemon) => readdirSync(d.config.stores[0].datadir!);

t('user_storage_quota: announced uploads that do not fit are 413 up front; the project\'s active bytes count', async ({ d }) => {
  const me = as('sq1', 'member,reader');
  const a = await createImage(d.url, {}, me);
  assert.is((await upload(d.url, a.id, randomBytes(2000), me)).status, 204);
  const b = await createImage(d.url, {}, me);
  const r = await upload(d.url, b.id, randomBytes(1500), me);
  assert.is(r.status, 413);
  assert.match(r.body.toString(), /Image exceeds the storage quota: The size of the data 1500 will exceed the limit\. 1000 bytes remaining\./);
  assert.is((await request(`${d.url}/v2/images/${b.id}`, { headers: me })).json.status, 'queued');
  // another project has its own quota
  const other = as('sq-other', 'member,reader');
  const c = await createImage(d.url, {}, other);
  assert.is((await upload(d.url, c.id, randomBytes(2500), other)).status, 204);
  // exactly what is left fits; then nothing is left, and an upload of unknown size is refused at once
  assert.is((await upload(d.url, b.id, randomBytes(1000), me)).status, 204);
  const e = await createImage(d.url, {}, me);
  const chunked = await request(`${d.url}/v2/images/${e.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', ...me }, body: Buffer.alloc(10) });
  assert.is(chunked.status, 413);
  assert.match(chunked.body.toString(), /The size of the data None will exceed the limit\. 0 bytes remaining\./);
  // deleting frees the bytes
  assert.is((await request(`${d.url}/v2/images/${a.id}`, { method: 'DELETE', headers: me })).status, 204);
  assert.is((await upload(d.url, e.id, randomBytes(2000), me)).status, 204);
});

t('user_storage_quota: an unannounced upload crossing the quota mid-way fails cleanly (413, queued, no data left)', async ({ d }) => {
  const me = as('sq2', 'member,reader');
  const img = await createImage(d.url, {}, me);
  // no Content-Length: chunked, so the size is learnt only while the bytes arrive
  const r = await request(`${d.url}/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', ...me }, body: randomBytes(5000) });
  assert.is(r.status, 413);
  assert.match(r.body.toString(), /Image exceeds the storage quota: The size of the data \d+ will exceed the limit\. 3000 bytes remaining\./);
  const after = (await request(`${d.url}/v2/images/${img.id}`, { headers: me })).json;
  assert.is(after.status, 'queued');
  assert.is(after.size, null);
  assert.not.ok(storeFiles(d).some((f) => f.includes(img.id)), 'no data left in the store');
  assert.is((await upload(d.url, img.id, randomBytes(3000), me)).status, 204, 'and the image can be uploaded again within the quota');
});

t('user_storage_quota: two uploads racing for the last bytes: both pass the first check, the later commit is refused', async ({ d }) => {
  const me = as('sq3', 'member,reader');
  const imgs = [await createImage(d.url, {}, me), await createImage(d.url, {}, me)];
  // both bodies are half sent before either ends, so both start with the whole quota (3000) in view
  const reqs = imgs.map((img) => {
    const u = new URL(`${d.url}/v2/images/${img.id}/file`);
    const req = http.request(u, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', ...me } });
    const done = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => (res.resume(), res.on('end', () => resolve(res.statusCode!))));
      req.on('error', reject);
    });
    req.write(randomBytes(1000));
    return { req, done };
  });
  await new Promise((r) => setTimeout(r, 300));
  for (const { req } of reqs) req.end(randomBytes(1000));
  const codes = (await Promise.all(reqs.map((r) => r.done))).sort();
  assert.equal(codes, [204, 413]);
  const states = await Promise.all(imgs.map(async (i) => (await request(`${d.url}/v2/images/${i.id}`, { headers: me })).json.status));
  assert.equal([...states].sort(), ['active', 'queued']);
  const loser = imgs[states.indexOf('queued')];
  assert.not.ok(storeFiles(d).some((f) => f.includes(loser.id)), 'the refused copy is deleted');
});

t.run();

const m = suite<{ d: TestDaemon }>('legacy quotas: copies');
m.before(async (ctx) => {
  // the noauth identity (admin): copy-image is admin's by Glance's policy
  ctx.d = await startTestDaemon({
    multiStore: true,
    trustHeaders: false,
    tweak: (c) => {
      c.quotas = { tags: 128, properties: 128, locations: 0, storage: 6000 };
      c.showMultipleLocations = true;
    },
  });
});
m.after(async (ctx) => {
  await ctx.d.stop();
});

async function waitImport(d: TestDaemon, id: string) {
  const until = Date.now() + 20_000;
  for (;;) {
    const img = (await request(`${d.url}/v2/images/${id}`)).json;
    if (!img.os_glance_importing_to_stores && img.status !== 'importing' && !img.os_glance_import_task) return img;
    if (Date.now() > until) throw new Error(`import did not finish: ${JSON.stringify(img)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

m('image_location_quota: 413 on PATCH of locations (checked before the URL); copies and uploads are not counted, as in Glance', async ({ d }) => {
  const q = await createImage(d.url, {});
  const r = await request(`${d.url}/v2/images/${q.id}`, {
    method: 'PATCH', headers: { 'Content-Type': PATCH_TYPE },
    body: JSON.stringify([{ op: 'add', path: '/locations/-', value: { url: 'file:///nowhere', metadata: {} } }]),
  });
  assert.is(r.status, 413);
  assert.match(r.body.toString(), /The limit has been exceeded on the number of allowed image locations\. Attempted: 1, Maximum: 0/);
  const img = await createImage(d.url, {});
  assert.is((await upload(d.url, img.id, randomBytes(2048))).status, 204);
  assert.is((await request(`${d.url}/v2/images/${img.id}/import`, { method: 'POST', headers: jsonHeaders(), body: JSON.stringify({ method: { name: 'copy-image' }, stores: ['slow'] }) })).status, 202);
  const done = await waitImport(d, img.id);
  assert.is(done.stores, 'fast,slow');
  assert.is(done.os_glance_failed_import, '');
});

m('user_storage_quota on imports: a glance-direct import that does not fit fails; the staged data stays for a retry', async ({ d }) => {
  const img = await createImage(d.url, {});
  const data = randomBytes(8192);
  const st = await request(`${d.url}/v2/images/${img.id}/stage`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length }, body: data });
  assert.is(st.status, 204, 'staging is not counted (as Glance without keystone limits)');
  assert.is((await request(`${d.url}/v2/images/${img.id}/import`, { method: 'POST', headers: jsonHeaders(), body: JSON.stringify({ method: { name: 'glance-direct' } }) })).status, 202);
  const done = await waitImport(d, img.id);
  assert.is(done.status, 'uploading');
  assert.is(done.os_glance_failed_import, 'fast');
  assert.not.ok(readdirSync(d.config.stores.find((s) => s.id === 'fast')!.datadir!).includes(img.id));
});

m.run();

const c = suite('legacy quotas: configuration');

c('user_storage_quota parses as Glance (B/KB/MB/GB/TB, powers of 1024, no spaces)', () => {
  assert.is(parseStorageQuota('0'), 0);
  assert.is(parseStorageQuota('1234'), 1234);
  assert.is(parseStorageQuota('10B'), 10);
  assert.is(parseStorageQuota('2KB'), 2048);
  assert.is(parseStorageQuota('3MB'), 3 << 20);
  assert.is(parseStorageQuota('5GB'), 5 * 2 ** 30);
  assert.is(parseStorageQuota('1TB'), 2 ** 40);
  for (const bad of ['1 GB', '1G', '1.5GB', '-1', '1gb', '']) assert.throws(() => parseStorageQuota(bad), bad);
});

c('quota options are read, validated and shown by check-config', () => {
  let r = loadText('[DEFAULT]\nuser_storage_quota = 10GB\nimage_tag_quota = -1\nimage_property_quota = 5\nimage_location_quota = 2\n');
  assert.equal(errors(r), []);
  assert.equal(r.config!.quotas, { tags: -1, properties: 5, locations: 2, storage: 10 * 2 ** 30 });
  assert.not.ok(r.problems.length, JSON.stringify(r.problems));
  const out = formatEffectiveConfig(r.config!);
  for (const line of ['user_storage_quota = 10GB', 'image_tag_quota = -1', 'image_property_quota = 5', 'image_location_quota = 2']) {
    assert.ok(out.includes(`${line}\n`), line);
  }
  r = loadText('[DEFAULT]\nuser_storage_quota = 10 GB\n');
  assert.is(errors(r)[0].option, 'DEFAULT.user_storage_quota');
  r = loadText('[DEFAULT]\nimage_tag_quota = many\n');
  assert.is(errors(r)[0].option, 'DEFAULT.image_tag_quota');
});

c.run();
