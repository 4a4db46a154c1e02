import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestDaemon } from '../helpers/daemon.js';
import { createImage, request, upload } from '../helpers/http.js';
import { adminToken, issueToken, keystoneEnv, startKeystoneDaemon, type KeystoneEnv } from '../helpers/keystone.js';

// Edge mode with keystone: the edge validates each token itself (a bad one never reaches the upstream) and
// still forwards the caller's X-Auth-Token, so the upstream (here another keystone imaged) decides as the caller.
// The cache API (/v2/cache) is the edge's own and needs an admin token.

interface Ctx { k: KeystoneEnv; up: TestDaemon; edge: TestDaemon; upRequests: string[]; alpha: string; admin: string }
const t = suite<Ctx>('keystone: edge mode and the cache API');

t.before(async (ctx) => {
  ctx.k = keystoneEnv();
  ctx.up = await startKeystoneDaemon(ctx.k);
  ctx.upRequests = [];
  ctx.up.daemon.server.on('request', (req: http.IncomingMessage) => ctx.upRequests.push(`${req.method} ${req.url} ${req.headers['x-auth-token'] ? 'token' : 'no-token'}`));
  ctx.edge = await startKeystoneDaemon(ctx.k, {}, {
    tweak: (c) => {
      c.imaged.upstream = ctx.up.url;
      c.imaged.upstreamTimeout = 10;
      c.cache.dir = path.join(c.imaged.stateDir, 'cache');
      c.cache.maxSize = 1 << 30;
      c.cache.hardMaxSize = 3 << 29;
    },
  });
  ctx.alpha = (await issueToken(ctx.k, 'alpha-member', { project: 'alpha' })).token;
  ctx.admin = await adminToken(ctx.k);
});
t.after(async (ctx) => {
  await ctx.edge?.stop();
  await ctx.up?.stop();
});

t('no or a bad token: 401 at the edge, the upstream never asked', async ({ k, edge, upRequests }) => {
  const n = upRequests.length;
  for (const headers of [{}, { 'X-Auth-Token': 'bogus' }] as Array<Record<string, string>>) {
    const r = await request(`${edge.url}/v2/images`, { headers });
    assert.is(r.status, 401);
    assert.is(r.headers['www-authenticate'], `Keystone uri="${k.url}"`);
  }
  assert.is(upRequests.length, n);
  assert.is((await request(`${edge.url}/versions`)).status, 300, '/versions stays open');
});

t('a valid token: forwarded, the upstream sees the caller (owner = the caller\'s project); data through the edge cache', async ({ k, up, edge, alpha, upRequests }) => {
  const img = await createImage(edge.url, { name: 'edge-ks' }, { 'X-Auth-Token': alpha });
  assert.is(img.owner, k.env.KEYSTONE_PROJECT_ALPHA);
  assert.ok(upRequests.some((l) => l === 'POST /v2/images token'));
  const data = randomBytes(64 * 1024);
  assert.is((await upload(edge.url, img.id, data, { 'X-Auth-Token': alpha })).status, 204);
  const got = await request(`${edge.url}/v2/images/${img.id}/file`, { headers: { 'X-Auth-Token': alpha } });
  assert.is(got.status, 200);
  assert.ok(got.body.equals(data));
  // another project cannot read it through the edge: the upstream says no
  const beta = (await issueToken(k, 'beta-member', { project: 'beta' })).token;
  assert.is((await request(`${edge.url}/v2/images/${img.id}/file`, { headers: { 'X-Auth-Token': beta } })).status, 404);
  assert.is((await request(`${up.url}/v2/images/${img.id}`, { headers: { 'X-Auth-Token': alpha } })).status, 200);
});

t('/v2/cache: 401 without a token, 403 for a member, 200 for an admin', async ({ edge, alpha, admin }) => {
  assert.is((await request(`${edge.url}/v2/cache`)).status, 401);
  assert.is((await request(`${edge.url}/v2/cache`, { headers: { 'X-Auth-Token': alpha } })).status, 403);
  const r = await request(`${edge.url}/v2/cache`, { headers: { 'X-Auth-Token': admin } });
  assert.is(r.status, 200);
  assert.ok(Array.isArray(r.json.cached_images));
});

t('a prefetch (PUT /v2/cache/{id}) reads the upstream with imaged\'s own token: the image gets cached', async ({ edge, alpha, admin }) => {
  const img = await createImage(edge.url, { name: 'edge-prefetch' }, { 'X-Auth-Token': alpha });
  assert.is((await upload(edge.url, img.id, randomBytes(32 * 1024), { 'X-Auth-Token': alpha })).status, 204);
  assert.is((await request(`${edge.url}/v2/cache/${img.id}`, { method: 'PUT', headers: { 'X-Auth-Token': admin } })).status, 202);
  const deadline = Date.now() + 20_000;
  let cached = false;
  while (!cached && Date.now() < deadline) {
    const r = await request(`${edge.url}/v2/cache`, { headers: { 'X-Auth-Token': admin } });
    cached = r.json.cached_images.some((e: any) => e.image_id === img.id);
    if (!cached) await new Promise((res) => setTimeout(res, 200));
  }
  assert.ok(cached, 'prefetched into the edge cache');
});

t.run();
