import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, jsonHeaders } from '../helpers/http.js';
import type { RequestContext } from '../../src/auth/context.js';

// noauth_trust_headers = false, the product default: every request is the configured noauth identity, and the
// X-Project-Id / X-Tenant-Id / X-User-Id / X-Roles a client sends change nothing (anyone could send them).

interface Ctx { d: TestDaemon; stranger: string }
const t = suite<Ctx>('noauth without trusted headers: forged identity headers are ignored');
t.before(async (ctx) => {
  ctx.d = await startTestDaemon({
    trustHeaders: false,
    multiStore: true, // for /v2/info/stores/detail, admin-only
    tweak: (c) => {
      c.imaged.noauthProject = 'p-node';
      c.imaged.noauthUser = 'u-node';
      c.imaged.noauthRoles = ['member', 'reader'];
    },
  });
  // an image of another project, made behind the API's back (no request can claim another project here)
  const other: RequestContext = { projectId: 'p-other', userId: 'u-other', roles: ['member', 'reader'], isAdmin: false, requestId: 'test' };
  ctx.stranger = (await ctx.d.daemon.internals.svc.create(other, { name: 'stranger', disk_format: 'raw', container_format: 'bare', visibility: 'private' })).id;
});
t.after(async (ctx) => {
  await ctx.d.stop();
});

const FORGED_ADMIN = { 'X-Project-Id': 'p-other', 'X-Tenant-Id': 'p-other', 'X-User-Id': 'u-evil', 'X-Roles': 'admin,member,reader' };

t('an image created with forged headers belongs to the configured project', async ({ d }) => {
  const img = await createImage(d.url, { name: 'mine' }, FORGED_ADMIN);
  assert.is(img.owner, 'p-node');
  const plain = await createImage(d.url, { name: 'plain' });
  assert.is(plain.owner, 'p-node');
});

t('X-Roles: admin grants nothing: publicizing, admin-only APIs and other projects\' images stay out of reach', async ({ d, stranger }) => {
  const pub = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders(FORGED_ADMIN), body: JSON.stringify({ name: 'pub', visibility: 'public' }) });
  assert.is(pub.status, 403, pub.body.toString());
  assert.is((await request(`${d.url}/v2/info/stores/detail`, { headers: FORGED_ADMIN })).status, 403);
  assert.is((await request(`${d.url}/v2/images/${stranger}`, { headers: FORGED_ADMIN })).status, 404);
  assert.is((await request(`${d.url}/v2/images/${stranger}`, { method: 'DELETE', headers: FORGED_ADMIN })).status, 404);
  const listed = (await request(`${d.url}/v2/images?visibility=all&limit=100`, { headers: FORGED_ADMIN })).json.images.map((i: any) => i.name);
  assert.not.ok(listed.includes('stranger'), listed.join(','));
  assert.ok(listed.includes('mine'));
});

t('X-Project-Id of the owner does not open its private image either', async ({ d, stranger }) => {
  const h = { 'X-Project-Id': 'p-other', 'X-Roles': 'member,reader' };
  assert.is((await request(`${d.url}/v2/images/${stranger}`, { headers: h })).status, 404);
  const patch = await request(`${d.url}/v2/images/${stranger}`, {
    method: 'PATCH', headers: { 'Content-Type': 'application/openstack-images-v2.1-json-patch', ...h },
    body: JSON.stringify([{ op: 'replace', path: '/name', value: 'taken' }]),
  });
  assert.is(patch.status, 404);
  assert.is(d.daemon.internals.catalog.get(stranger)?.name, 'stranger');
});

t('with the default admin identity, forged headers cannot move images to another project or drop to a forged one', async () => {
  const d = await startTestDaemon({ trustHeaders: false });
  try {
    const img = await createImage(d.url, { name: 'x' }, { 'X-Project-Id': 'p-evil', 'X-Roles': 'reader' });
    assert.is(img.owner, d.config.imaged.noauthProject);
    // the admin identity stays admin whatever X-Roles says: it may publicize
    const pub = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders({ 'X-Roles': 'reader' }), body: JSON.stringify({ name: 'p', visibility: 'public' }) });
    assert.is(pub.status, 201, pub.body.toString());
  } finally {
    await d.stop();
  }
});

t.run();
