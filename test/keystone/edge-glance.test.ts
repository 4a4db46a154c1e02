import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestDaemon } from '../helpers/daemon.js';
import { createImage, request, upload } from '../helpers/http.js';
import { run, ROOT } from '../helpers/proc.js';
import { adminToken, issueToken, keystoneDir, keystoneEnv, startKeystoneDaemon, type KeystoneEnv } from '../helpers/keystone.js';

// Edge mode in front of Debian's glance-api 25 with its keystone pipeline (keystonemiddleware), both validating
// the same tokens against the test Keystone. This suite starts that glance itself (test/env/glance.sh with
// IMAGED_GLANCE_KEYSTONE, its own DIR and port) and purges it afterwards.

const GLANCE_DIR = process.env.IMAGED_TEST_GLANCE_KEYSTONE_DIR ?? '/tmp/imaged-glance-keystone';
const GLANCE_PORT = process.env.IMAGED_TEST_GLANCE_KEYSTONE_PORT ?? '9397';
const glanceSh = (cmd: string) => run('bash', [path.join(ROOT, 'test/env/glance.sh'), cmd, GLANCE_DIR], {
  env: { ...process.env, IMAGED_GLANCE_PORT: GLANCE_PORT, IMAGED_GLANCE_KEYSTONE: keystoneDir() }, timeoutMs: 300_000,
});

interface Ctx { k: KeystoneEnv; glance: string; edge: TestDaemon; alpha: string }
const t = suite<Ctx>('keystone: edge mode in front of a keystone glance-api');

t.before(async (ctx) => {
  ctx.k = keystoneEnv();
  await glanceSh('purge');
  const r = await glanceSh('start');
  assert.is(r.code, 0, `glance.sh start: ${r.stderr.slice(-3000)}`);
  ctx.glance = `http://127.0.0.1:${GLANCE_PORT}`;
  ctx.edge = await startKeystoneDaemon(ctx.k, {}, {
    tweak: (c) => {
      c.imaged.upstream = ctx.glance;
      c.imaged.upstreamTimeout = 30;
      c.cache.dir = path.join(c.imaged.stateDir, 'cache');
      c.cache.maxSize = 1 << 30;
      c.cache.hardMaxSize = 3 << 29;
    },
  });
  ctx.alpha = (await issueToken(ctx.k, 'alpha-member', { project: 'alpha' })).token;
});
t.after(async (ctx) => {
  await ctx.edge?.stop();
  await glanceSh('purge');
});

t('no token: both answer 401 with the same WWW-Authenticate', async ({ k, glance, edge }) => {
  for (const url of [glance, edge.url]) {
    const r = await request(`${url}/v2/images`, { headers: { Accept: 'application/json' } });
    assert.is(r.status, 401, url);
    assert.is(r.headers['www-authenticate'], `Keystone uri="${k.url}"`, url);
    assert.match(r.json.message, 'could not verify that you are authorized', url);
  }
});

t('through the edge: create (owner = the caller\'s project), upload, download, other project 404, prefetch, delete', async ({ k, glance, edge, alpha }) => {
  const img = await createImage(edge.url, { name: 'edge-glance-ks' }, { 'X-Auth-Token': alpha });
  assert.is(img.owner, k.env.KEYSTONE_PROJECT_ALPHA);
  const data = randomBytes(256 * 1024);
  assert.is((await upload(edge.url, img.id, data, { 'X-Auth-Token': alpha })).status, 204);
  const onGlance = await request(`${glance}/v2/images/${img.id}`, { headers: { 'X-Auth-Token': alpha } });
  assert.is(onGlance.json.status, 'active');
  const got = await request(`${edge.url}/v2/images/${img.id}/file`, { headers: { 'X-Auth-Token': alpha } });
  assert.is(got.status, 200);
  assert.ok(got.body.equals(data));
  const beta = (await issueToken(k, 'beta-member', { project: 'beta' })).token;
  assert.is((await request(`${edge.url}/v2/images/${img.id}/file`, { headers: { 'X-Auth-Token': beta } })).status, 404);

  const admin = await adminToken(k);
  const img2 = await createImage(edge.url, { name: 'edge-glance-prefetch' }, { 'X-Auth-Token': alpha });
  assert.is((await upload(edge.url, img2.id, data, { 'X-Auth-Token': alpha })).status, 204);
  assert.is((await request(`${edge.url}/v2/cache/${img2.id}`, { method: 'PUT', headers: { 'X-Auth-Token': admin } })).status, 202);
  let cached = false;
  for (const deadline = Date.now() + 20_000; !cached && Date.now() < deadline;) {
    cached = (await request(`${edge.url}/v2/cache`, { headers: { 'X-Auth-Token': admin } })).json.cached_images.some((e: any) => e.image_id === img2.id);
    if (!cached) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(cached, 'prefetched from glance with imaged\'s own token');
  for (const id of [img.id, img2.id]) assert.is((await request(`${edge.url}/v2/images/${id}`, { method: 'DELETE', headers: { 'X-Auth-Token': alpha } })).status, 204);
});

t.run();
