import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import http from 'node:http';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { startTestDaemon, ADMIN, as, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, upload } from '../helpers/http.js';

// Edge mode in front of another imaged (the upstream), both real daemons on loopback.

interface Ctx { up: TestDaemon; edge: TestDaemon; fileGets: number }
const t = suite<Ctx>('edge mode with an imaged upstream');

async function startEdge(up: TestDaemon, grace = 300) {
  return startTestDaemon({
    tweak: (c) => {
      c.imaged.upstream = up.url;
      c.imaged.upstreamGracePeriod = grace;
      c.imaged.upstreamTimeout = 5;
      c.cache.dir = path.join(c.imaged.stateDir, 'cache');
      c.cache.maxSize = 1 << 30;
      c.cache.hardMaxSize = 3 << 29;
    },
  });
}

t.before(async (ctx) => {
  ctx.up = await startTestDaemon();
  ctx.fileGets = 0;
  ctx.up.daemon.server.on('request', (req: http.IncomingMessage) => {
    if (req.method === 'GET' && /\/file$/.test(req.url ?? '')) ctx.fileGets++;
  });
  ctx.edge = await startEdge(ctx.up);
});
t.after(async (ctx) => {
  await ctx.edge?.stop();
  await ctx.up?.stop();
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

t('metadata and uploads are forwarded with the caller headers; versions point at the edge', async ({ up, edge }) => {
  const img = await createImage(edge.url, { name: 'via-edge' }, as('p1'));
  const onUp = await request(`${up.url}/v2/images/${img.id}`, { headers: as('p1') });
  assert.is(onUp.status, 200);
  assert.is(onUp.json.owner, 'p1');
  const data = randomBytes(2 << 20);
  assert.is((await upload(edge.url, img.id, data, as('p1'))).status, 204);
  assert.is((await request(`${up.url}/v2/images/${img.id}`, { headers: as('p1') })).json.checksum, md5(data));
  const list = await request(`${edge.url}/v2/images?name=via-edge`, { headers: as('p1') });
  assert.is(list.json.images.length, 1);
  const v = await request(`${edge.url}/versions`);
  assert.is(v.status, 300);
  assert.match(v.json.versions[0].links[0].href, new URL(edge.url).host);
  assert.not.match(JSON.stringify(v.json), new URL(up.url).host);
});

t('64 concurrent downloads of an uncached image: one upstream read, identical bodies, then cache hits', async (ctx) => {
  const { up, edge } = ctx;
  const data = randomBytes(8 << 20); // small: the 64 clients share this test process with both daemons
  const img = await createImage(up.url, { name: 'popular' });
  await upload(up.url, img.id, data);
  const before = ctx.fileGets;
  const bodies = await Promise.all(Array.from({ length: 64 }, () => request(`${edge.url}/v2/images/${img.id}/file`)));
  for (const b of bodies) {
    assert.is(b.status, 200);
    assert.is(b.headers['content-md5'], md5(data));
    assert.ok(b.body.equals(data));
  }
  assert.is(ctx.fileGets - before, 1, 'exactly one read of the upstream');
  const again = await request(`${edge.url}/v2/images/${img.id}/file`, { headers: { Range: 'bytes=100-199' } });
  assert.is(again.status, 206);
  assert.ok(again.body.equals(data.subarray(100, 200)));
  assert.is(ctx.fileGets - before, 1);
  const cache = await request(`${edge.url}/v2/cache`, { headers: ADMIN });
  const entry = cache.json.cached_images.find((e: any) => e.image_id === img.id);
  assert.ok(entry);
  assert.is(entry.size, data.length);
  assert.ok(entry.hits >= 1);
});

t('ranges past the filled point are served while the fill runs', async (ctx) => {
  const { up, edge } = ctx;
  const data = randomBytes(32 << 20);
  const img = await createImage(up.url, { name: 'ranged' });
  await upload(up.url, img.id, data);
  const [full, tail] = await Promise.all([
    request(`${edge.url}/v2/images/${img.id}/file`),
    request(`${edge.url}/v2/images/${img.id}/file`, { headers: { Range: `bytes=${data.length - 1000}-` } }),
  ]);
  assert.ok(full.body.equals(data));
  assert.is(tail.status, 206);
  assert.ok(tail.body.equals(data.subarray(data.length - 1000)));
});

t('the upstream decides access: private images of others are 404, deleted images stop being served', async ({ up, edge }) => {
  const data = randomBytes(1 << 20);
  const img = await createImage(up.url, { name: 'secret', visibility: 'private' }, as('p2'));
  await upload(up.url, img.id, data, as('p2'));
  assert.is((await request(`${edge.url}/v2/images/${img.id}/file`, { headers: as('p2') })).status, 200);
  assert.is((await request(`${edge.url}/v2/images/${img.id}/file`, { headers: as('p1') })).status, 404);
  assert.is((await request(`${up.url}/v2/images/${img.id}`, { method: 'DELETE', headers: as('p2') })).status, 204);
  assert.is((await request(`${edge.url}/v2/images/${img.id}/file`, { headers: as('p2') })).status, 404);
});

t('cache API: prefetch (PUT), list, delete one, clear; admin only', async ({ up, edge }) => {
  const data = randomBytes(1 << 20);
  const img = await createImage(up.url, { name: 'prefetched' });
  await upload(up.url, img.id, data);
  assert.is((await request(`${edge.url}/v2/cache`, { headers: as('p1') })).status, 403);
  // prefetch needs the upstream's metadata: the edge asks it with its own identity
  assert.is((await request(`${edge.url}/v2/cache/${img.id}`, { method: 'PUT', headers: ADMIN })).status, 202);
  let listed = false;
  for (let i = 0; i < 100 && !listed; i++) {
    const l = await request(`${edge.url}/v2/cache`, { headers: ADMIN });
    listed = l.json.cached_images.some((e: any) => e.image_id === img.id);
    if (!listed) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(listed, 'prefetched image is cached');
  assert.is((await request(`${edge.url}/v2/cache/${img.id}`, { method: 'DELETE', headers: ADMIN })).status, 204);
  assert.is((await request(`${edge.url}/v2/cache/${img.id}`, { method: 'DELETE', headers: ADMIN })).status, 404);
  assert.is((await request(`${edge.url}/v2/cache`, { method: 'DELETE', headers: { ...ADMIN, 'x-image-cache-clear-target': 'bogus' } })).status, 400);
  assert.is((await request(`${edge.url}/v2/cache`, { method: 'DELETE', headers: { ...ADMIN, 'x-image-cache-clear-target': 'cache' } })).status, 204);
  assert.equal(readdirSync(edge.config.cache.dir!).filter((n) => n !== 'incomplete'), []);
});

t('upstream down: metadata 503; recently seen cached images are still served; others 503', async (ctx) => {
  const up2 = await startTestDaemon();
  const edge2 = await startEdge(up2, 60);
  try {
    const data = randomBytes(1 << 20);
    const img = await createImage(up2.url, { name: 'kept' });
    await upload(up2.url, img.id, data);
    const other = await createImage(up2.url, { name: 'not-cached' });
    await upload(up2.url, other.id, data);
    assert.ok((await request(`${edge2.url}/v2/images/${img.id}/file`)).body.equals(data));
    await up2.stop(false);
    assert.is((await request(`${edge2.url}/v2/images`)).status, 503);
    const g = await request(`${edge2.url}/v2/images/${img.id}/file`);
    assert.is(g.status, 200);
    assert.ok(g.body.equals(data));
    assert.is((await request(`${edge2.url}/v2/images/${other.id}/file`)).status, 503);
  } finally {
    await edge2.stop();
  }
});

t('deleting an image through the edge purges it from the edge cache (as Glance\'s cache middleware); a refused delete does not', async ({ up, edge }) => {
  const data = randomBytes(1 << 20);
  const img = await createImage(up.url, { name: 'to-delete' }, as('p3'));
  await upload(up.url, img.id, data, as('p3'));
  assert.ok((await request(`${edge.url}/v2/images/${img.id}/file`, { headers: as('p3') })).body.equals(data));
  const cachedIds = async () => (await request(`${edge.url}/v2/cache`, { headers: ADMIN })).json.cached_images.map((e: any) => e.image_id);
  assert.ok((await cachedIds()).includes(img.id));
  assert.ok(readdirSync(edge.config.cache.dir!).some((n) => n.includes(img.id)));
  assert.is((await request(`${edge.url}/v2/images/${img.id}`, { method: 'DELETE', headers: as('p4') })).status, 404);
  assert.ok((await cachedIds()).includes(img.id), 'the upstream refused: the cache keeps it');
  assert.is((await request(`${edge.url}/v2/images/${img.id}`, { method: 'DELETE', headers: as('p3') })).status, 204);
  assert.not.ok((await cachedIds()).includes(img.id));
  assert.not.ok(readdirSync(edge.config.cache.dir!).some((n) => n.includes(img.id)), 'the bytes are gone');
  assert.is(edge.daemon.internals.catalog.subDb('edge-seen').get(img.id), undefined, 'the grace period cannot serve it either');
});

t('edge mode starts without its file store datadir (it never writes there)', async ({ up }) => {
  const e = await startTestDaemon({
    tweak: (c) => {
      c.imaged.upstream = up.url;
      c.cache.dir = path.join(c.imaged.stateDir, 'cache');
      c.stores[0].datadir = path.join(c.imaged.stateDir, 'no', 'such', 'dir');
      rmSync(path.join(c.imaged.stateDir, '..', 'images'), { recursive: true });
    },
  });
  try {
    assert.is((await request(`${e.url}/healthcheck`)).status, 200);
    assert.not.ok(existsSync(path.join(e.config.imaged.stateDir, 'no')));
  } finally {
    await e.stop();
  }
});

t.run();
