import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { pino } from 'pino';
import { KeystoneClient, KeystoneUnavailable } from '../../src/auth/keystone-client.js';
import { KeystoneLimits, LIMIT_RESOURCES } from '../../src/quota/limits.js';
import { issueToken, keystoneCall, keystoneConfig, keystoneEnv, type KeystoneEnv } from '../helpers/keystone.js';

// Unified limits ([DEFAULT] use_keystone_limits) read from the real test Keystone: registered (default) limits of
// the image service, a project's own limit overriding one, 0 where Keystone has none, and the per-project cache.

interface Ctx { k: KeystoneEnv; admin: string; serviceId: string; endpointId: string; client: KeystoneClient }
const t = suite<Ctx>('keystone: unified limits for a project');
const log = pino({ level: 'silent' });
const DEFAULTS = { image_size_total: 1000, image_stage_total: 500, image_count_total: 100 };

/** Sets a registered limit of the image service (create or update); null deletes it. */
async function registered(ctx: Ctx, resource: string, value: number | null) {
  const list = await keystoneCall(ctx.k, ctx.admin, 'GET', `/registered_limits?service_id=${ctx.serviceId}&resource_name=${resource}`);
  const have = list.json.registered_limits[0];
  if (value === null) {
    if (have) assert.is((await keystoneCall(ctx.k, ctx.admin, 'DELETE', `/registered_limits/${have.id}`)).status, 204);
    return;
  }
  if (have?.default_limit === value) return; // Keystone refuses to change one that project limits refer to
  const r = have
    ? await keystoneCall(ctx.k, ctx.admin, 'PATCH', `/registered_limits/${have.id}`, { registered_limit: { default_limit: value } })
    : await keystoneCall(ctx.k, ctx.admin, 'POST', '/registered_limits', { registered_limits: [{ service_id: ctx.serviceId, region_id: ctx.k.region, resource_name: resource, default_limit: value }] });
  assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.json));
}

async function projectLimit(ctx: Ctx, projectId: string, resource: string, value: number) {
  const list = await keystoneCall(ctx.k, ctx.admin, 'GET', `/limits?service_id=${ctx.serviceId}&project_id=${projectId}&resource_name=${resource}`);
  const have = list.json.limits[0];
  const r = have
    ? await keystoneCall(ctx.k, ctx.admin, 'PATCH', `/limits/${have.id}`, { limit: { resource_limit: value } })
    : await keystoneCall(ctx.k, ctx.admin, 'POST', '/limits', { limits: [{ service_id: ctx.serviceId, region_id: ctx.k.region, project_id: projectId, resource_name: resource, resource_limit: value }] });
  assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.json));
}

t.before(async (ctx) => {
  ctx.k = keystoneEnv();
  // system-scoped: a project-scoped token lists only its own project's limits
  ctx.admin = (await issueToken(ctx.k, 'admin', { system: true })).token;
  ctx.serviceId = (await keystoneCall(ctx.k, ctx.admin, 'GET', '/services?type=image')).json.services[0].id;
  ctx.endpointId = (await keystoneCall(ctx.k, ctx.admin, 'GET', `/endpoints?service_id=${ctx.serviceId}&interface=public`)).json.endpoints[0].id;
  for (const [r, v] of Object.entries(DEFAULTS)) await registered(ctx, r, v);
  await registered(ctx, 'image_count_uploading', null);
  await projectLimit(ctx, ctx.k.env.KEYSTONE_PROJECT_BETA, 'image_count_total', 7);
  // as [oslo_limit] would say: imaged's user, system-scoped (it has the system reader role)
  ctx.client = new KeystoneClient(keystoneConfig(ctx.k, { systemScope: 'all', projectName: null, projectDomainName: null }), log);
});

t('registered limits for every project; a project limit overrides its resource; none at all → 0', async ({ k, client, endpointId }) => {
  const limits = new KeystoneLimits(client, endpointId, log);
  assert.equal(await limits.forProject(k.env.KEYSTONE_PROJECT_ALPHA), { ...DEFAULTS, image_count_uploading: 0 });
  assert.equal(await limits.forProject(k.env.KEYSTONE_PROJECT_BETA), { ...DEFAULTS, image_count_total: 7, image_count_uploading: 0 });
  assert.equal(Object.keys(await limits.forProject(k.env.KEYSTONE_PROJECT_GAMMA)).sort(), [...LIMIT_RESOURCES].sort());
});

t('cached per project for cacheSeconds; concurrent lookups share one Keystone round', async (ctx) => {
  const { k, client, endpointId } = ctx;
  const limits = new KeystoneLimits(client, endpointId, log, 1);
  await limits.forProject(k.env.KEYSTONE_PROJECT_GAMMA); // endpoint resolved, model checked
  limits.invalidate();
  const before = client.calls.get;
  const all = await Promise.all(Array.from({ length: 10 }, () => limits.forProject(k.env.KEYSTONE_PROJECT_GAMMA)));
  assert.ok(all.every((l) => l.image_count_total === DEFAULTS.image_count_total));
  assert.is(client.calls.get - before, 2, 'registered limits + project limits, once');
  await registered(ctx, 'image_count_uploading', 3);
  try {
    assert.is((await limits.forProject(k.env.KEYSTONE_PROJECT_GAMMA)).image_count_uploading, 0, 'still cached');
    await new Promise((r) => setTimeout(r, 1100));
    assert.is((await limits.forProject(k.env.KEYSTONE_PROJECT_GAMMA)).image_count_uploading, 3, 'after the cache time');
  } finally {
    await registered(ctx, 'image_count_uploading', null);
  }
});

t('an endpoint_id Keystone does not know, or Keystone unreachable: KeystoneUnavailable', async ({ k, client }) => {
  const limits = new KeystoneLimits(client, 'no-such-endpoint', log);
  try {
    await limits.forProject(k.env.KEYSTONE_PROJECT_ALPHA);
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, KeystoneUnavailable);
    assert.match((e as Error).message, 'no-such-endpoint');
  }
  const down = new KeystoneLimits(new KeystoneClient(keystoneConfig(k, { authUrl: 'http://127.0.0.1:9', httpRequestMaxRetries: 0 }), log), 'x', log);
  try {
    await down.forProject('p');
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, KeystoneUnavailable);
  }
});

t.run();
