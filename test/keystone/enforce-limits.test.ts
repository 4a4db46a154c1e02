import http from 'node:http';
import path from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { startTestDaemon, as, type TestDaemon } from '../helpers/daemon.js';
import { createImage, request, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/wait.js';
import { issueToken, keystoneCall, keystoneConfig, keystoneEnv, type KeystoneEnv } from '../helpers/keystone.js';

// [DEFAULT] use_keystone_limits enforced as glance 25 does (glance/quota/keystone.py): usage counted from the
// catalog, limits read from the real test Keystone for two projects of this suite's own.
//  sized: image_size_total 1 MiB, image_stage_total 1 MiB, image_count_total 3, image_count_uploading unlimited
//  busy:  image_count_uploading 1, everything else unlimited (-1)
//  direct: image_size_total 1 MiB, everything else unlimited
//  web:    image_stage_total 1 MiB, everything else unlimited

interface Ctx { k: KeystoneEnv; admin: string; d: TestDaemon; off: TestDaemon; sized: string; busy: string; direct: string; web: string; source: http.Server; serviceId: string; createdRegistered: string[] }
const t = suite<Ctx>('keystone: unified limits enforced');
const MiB = 1024 * 1024;

async function project(ctx: Ctx, name: string): Promise<string> {
  const have = (await keystoneCall(ctx.k, ctx.admin, 'GET', `/projects?name=${name}&domain_id=default`)).json.projects[0];
  if (have) return have.id;
  const r = await keystoneCall(ctx.k, ctx.admin, 'POST', '/projects', { project: { name, domain_id: 'default' } });
  assert.is(r.status, 201, JSON.stringify(r.json));
  return r.json.project.id;
}

/** Keystone takes project limits only for resources with a registered limit: add the missing ones (unlimited). */
async function ensureRegistered(ctx: Ctx, resource: string) {
  const have = (await keystoneCall(ctx.k, ctx.admin, 'GET', `/registered_limits?service_id=${ctx.serviceId}&resource_name=${resource}`)).json.registered_limits[0];
  if (have) return;
  const r = await keystoneCall(ctx.k, ctx.admin, 'POST', '/registered_limits', { registered_limits: [{ service_id: ctx.serviceId, region_id: ctx.k.region, resource_name: resource, default_limit: -1 }] });
  assert.is(r.status, 201, JSON.stringify(r.json));
  ctx.createdRegistered.push(r.json.registered_limits[0].id);
}

/** This suite's project limits go when it ends: Keystone won't change registered limits they refer to (limits.test.ts does). */
async function dropLimits(ctx: Ctx, projectId: string) {
  for (const l of (await keystoneCall(ctx.k, ctx.admin, 'GET', `/limits?service_id=${ctx.serviceId}&project_id=${projectId}`)).json.limits) {
    assert.is((await keystoneCall(ctx.k, ctx.admin, 'DELETE', `/limits/${l.id}`)).status, 204);
  }
}

async function setLimit(ctx: Ctx, serviceId: string, projectId: string, resource: string, value: number) {
  const have = (await keystoneCall(ctx.k, ctx.admin, 'GET', `/limits?service_id=${serviceId}&project_id=${projectId}&resource_name=${resource}`)).json.limits[0];
  const r = have
    ? await keystoneCall(ctx.k, ctx.admin, 'PATCH', `/limits/${have.id}`, { limit: { resource_limit: value } })
    : await keystoneCall(ctx.k, ctx.admin, 'POST', '/limits', { limits: [{ service_id: serviceId, region_id: ctx.k.region, project_id: projectId, resource_name: resource, resource_limit: value }] });
  assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.json));
}

const overLimit = (project: string, resource: string, limit: number, usage: number, delta: number) =>
  `Project ${project} is over a limit for [Resource ${resource} is over limit of ${limit} due to current usage ${usage} and delta ${delta}]`;

t.before(async (ctx) => {
  ctx.k = keystoneEnv();
  ctx.admin = (await issueToken(ctx.k, 'admin', { system: true })).token;
  const serviceId = (ctx.serviceId = (await keystoneCall(ctx.k, ctx.admin, 'GET', '/services?type=image')).json.services[0].id);
  const endpointId = (await keystoneCall(ctx.k, ctx.admin, 'GET', `/endpoints?service_id=${serviceId}&interface=public`)).json.endpoints[0].id;
  ctx.sized = await project(ctx, 'limits-sized');
  ctx.busy = await project(ctx, 'limits-busy');
  ctx.direct = await project(ctx, 'limits-direct');
  ctx.web = await project(ctx, 'limits-web');
  ctx.createdRegistered = [];
  for (const r of ['image_size_total', 'image_stage_total', 'image_count_total', 'image_count_uploading']) await ensureRegistered(ctx, r);
  const limits = {
    [ctx.sized]: { image_size_total: 1, image_stage_total: 1, image_count_total: 3, image_count_uploading: -1 },
    [ctx.busy]: { image_size_total: -1, image_stage_total: -1, image_count_total: -1, image_count_uploading: 1 },
    [ctx.direct]: { image_size_total: 1, image_stage_total: -1, image_count_total: -1, image_count_uploading: -1 },
    [ctx.web]: { image_size_total: -1, image_stage_total: 1, image_count_total: -1, image_count_uploading: -1 },
  };
  for (const [p, l] of Object.entries(limits)) for (const [r, v] of Object.entries(l)) await setLimit(ctx, serviceId, p, r, v);
  // a web-download source: /N answers N zero bytes, without a Content-Length (chunked)
  ctx.source = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(Buffer.alloc(Number(req.url!.slice(1))));
  });
  await new Promise<void>((r) => ctx.source.listen(0, '127.0.0.1', r));
  const sourcePort = (ctx.source.address() as { port: number }).port;
  ctx.d = await startTestDaemon({
    trustHeaders: true,
    tweak: (c) => {
      c.importFilter.allowedPorts = [80, 443, sourcePort];
      c.importFilter.allowedHosts = ['127.0.0.1'];
      c.quotas.storage = 1024; // user_storage_quota: ignored under unified limits, as glance's check_quota
      // limits read afresh on every check, so the test may lower them (imaged keeps them 60 s)
      c.keystoneLimits = { endpointId, auth: keystoneConfig(ctx.k, { systemScope: 'all', projectName: null, projectDomainName: null }), cacheSeconds: 0 };
    },
  });
  ctx.off = await startTestDaemon({ trustHeaders: true });
});
t.after(async (ctx) => {
  await ctx.d?.stop();
  await ctx.off?.stop();
  ctx.source?.close();
  if (ctx.admin && ctx.serviceId) {
    for (const p of [ctx.sized, ctx.busy, ctx.direct, ctx.web]) if (p) await dropLimits(ctx, p);
    for (const id of ctx.createdRegistered ?? []) await keystoneCall(ctx.k, ctx.admin, 'DELETE', `/registered_limits/${id}`);
  }
});

const usage = async (base: string, project: string) => {
  const r = await request(`${base}/v2/info/usage`, { headers: as(project) });
  assert.is(r.status, 200, r.body.toString());
  return JSON.parse(r.body.toString());
};
const status = async (base: string, id: string, project: string) =>
  JSON.parse((await request(`${base}/v2/images/${id}`, { headers: as(project) })).body.toString()).status;

/** A chunked PUT (no size announced) of `size` zero bytes in 256 KiB writes; resolves with the answer, even an early one. */
function streamed(url: string, size: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { ...headers, 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', () => {}); // the server may answer and close before the last write
    const chunk = Buffer.alloc(256 << 10);
    let sent = 0;
    const pump = () => {
      while (sent < size && req.write(chunk.subarray(0, Math.min(chunk.length, size - sent)))) sent += Math.min(chunk.length, size - sent);
      if (sent < size) req.once('drain', pump);
      else req.end();
    };
    pump();
  });
}

/** Nothing of a refused transfer is kept: no file in the datadir, nothing staged. */
const stored = (d: TestDaemon, id: string) =>
  [...d.config.stores.map((s) => s.datadir!), path.join(d.config.imaged.stateDir, 'staging')].filter((dir) => dir && existsSync(dir)).flatMap((dir) => readdirSync(dir).filter((f) => f.includes(id)));

t('image_size_total, image_stage_total: a transfer is cut where it would take the project over; 413 once over; GET /v2/info/usage', async (ctx) => {
  const { d, sized } = ctx;
  const h = as(sized);
  assert.equal(await usage(d.url, sized), {
    usage: {
      image_size_total: { limit: 1, usage: 0 }, image_stage_total: { limit: 1, usage: 0 },
      image_count_total: { limit: 3, usage: 0 }, image_count_uploading: { limit: -1, usage: 0 },
    },
  });
  // 2 MiB streamed into a 1 MiB limit: cut mid-way (glance would take it all), the image queued and empty
  const cut = await createImage(d.url, { name: 'cut' }, h);
  const s = await streamed(`${d.url}/v2/images/${cut.id}/file`, 2 * MiB, h);
  assert.is(s.status, 413, s.body);
  assert.match(s.body, new RegExp(`Project ${sized} is over a limit for \\[Resource image_size_total is over limit of 1 due to current usage 0 and delta [1-9]`));
  await waitUntil(async () => (await status(d.url, cut.id, sized)) === 'queued', 'the cut upload back to queued');
  assert.equal(stored(d, cut.id), []);
  // announced too big: refused before any byte
  const announced = await upload(d.url, cut.id, Buffer.alloc(2 * MiB + 5), h);
  assert.is(announced.status, 413);
  assert.match(announced.body.toString(), overLimit(sized, 'image_size_total', 1, 0, 2));
  assert.is(await status(d.url, cut.id, sized), 'queued');
  // up to the last byte that keeps usage (whole MiB, rounded down as glance) within the limit: accepted
  const big = await createImage(d.url, { name: 'big' }, h);
  assert.is((await upload(d.url, big.id, Buffer.alloc(2 * MiB - 1), h)).status, 204);
  assert.equal((await usage(d.url, sized)).usage.image_size_total, { limit: 1, usage: 1 });
  // a higher limit, then lowered under the usage (keystone 22 takes no 0 in a PATCH: 1): the next upload is
  // refused before any byte (glance's delta 0 check), the image stays queued and empty
  await setLimit(ctx, ctx.serviceId, sized, 'image_size_total', 3);
  assert.is((await upload(d.url, cut.id, Buffer.alloc(2 * MiB), h)).status, 204);
  await setLimit(ctx, ctx.serviceId, sized, 'image_size_total', 1);
  const staged = await createImage(d.url, { name: 'staged' }, h);
  const r = await upload(d.url, staged.id, Buffer.alloc(1000), h);
  assert.is(r.status, 413);
  assert.match(r.body.toString(), overLimit(sized, 'image_size_total', 1, 3, 0));
  const after = JSON.parse((await request(`${d.url}/v2/images/${staged.id}`, { headers: h })).body.toString());
  assert.is(after.status, 'queued');
  assert.is(after.size, null);
  // staging: a stage crossing image_stage_total is cut; with room it is kept; once over, the next is refused
  const s1 = await streamed(`${d.url}/v2/images/${staged.id}/stage`, 3 * MiB, h);
  assert.is(s1.status, 413, s1.body);
  assert.match(s1.body, new RegExp(`\\[Resource image_stage_total is over limit of 1 due to current usage 0 and delta [1-9]`));
  await waitUntil(async () => (await status(d.url, staged.id, sized)) === 'queued', 'the cut stage back to queued');
  assert.equal(stored(d, staged.id), []);
  await setLimit(ctx, ctx.serviceId, sized, 'image_stage_total', 3);
  const s2 = await request(`${d.url}/v2/images/${staged.id}/stage`, { method: 'PUT', headers: { ...h, 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(2 * MiB + 10) });
  assert.is(s2.status, 204, s2.body.toString());
  await setLimit(ctx, ctx.serviceId, sized, 'image_stage_total', 1);
  // checked before the image's state, as glance: an active image gets the 413 too
  const s3 = await request(`${d.url}/v2/images/${big.id}/stage`, { method: 'PUT', headers: { ...h, 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(10) });
  assert.is(s3.status, 413);
  assert.match(s3.body.toString(), overLimit(sized, 'image_stage_total', 1, 2, 0));
  assert.is(await status(d.url, big.id, sized), 'active');
  // POST /import is refused while over image_size_total
  const imp = await request(`${d.url}/v2/images/${staged.id}/import`, { method: 'POST', headers: { ...h, 'Content-Type': 'application/json' }, body: JSON.stringify({ method: { name: 'glance-direct' } }) });
  assert.is(imp.status, 413);
  assert.match(imp.body.toString(), overLimit(sized, 'image_size_total', 1, 3, 0));
  assert.is(await status(d.url, staged.id, sized), 'uploading');
  // three images already: a fourth is refused (delta 1)
  const c = await request(`${d.url}/v2/images`, { method: 'POST', headers: { ...h, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'fourth' }) });
  assert.is(c.status, 413);
  assert.match(c.body.toString(), overLimit(sized, 'image_count_total', 3, 3, 1));
  assert.equal(await usage(d.url, sized), {
    usage: {
      image_size_total: { limit: 1, usage: 3 }, image_stage_total: { limit: 1, usage: 2 },
      image_count_total: { limit: 3, usage: 3 }, image_count_uploading: { limit: -1, usage: 1 },
    },
  });
  // deleting one frees its count
  assert.is((await request(`${d.url}/v2/images/${cut.id}`, { method: 'DELETE', headers: h })).status, 204);
  await createImage(d.url, { name: 'fourth' }, h);
});

t('image_count_uploading: an upload or stage while the project has its limit in flight → 413, the image back to queued', async ({ d, busy }) => {
  const h = as(busy);
  const first = await createImage(d.url, { name: 'first' }, h);
  const s = await request(`${d.url}/v2/images/${first.id}/stage`, { method: 'PUT', headers: { ...h, 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(100) });
  assert.is(s.status, 204);
  const second = await createImage(d.url, { name: 'second' }, h);
  const r = await upload(d.url, second.id, Buffer.alloc(100), h);
  assert.is(r.status, 413);
  assert.match(r.body.toString(), overLimit(busy, 'image_count_uploading', 1, 2, 0));
  assert.is(await status(d.url, second.id, busy), 'queued');
  const s2 = await request(`${d.url}/v2/images/${second.id}/stage`, { method: 'PUT', headers: { ...h, 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(10) });
  assert.is(s2.status, 413);
  assert.is(await status(d.url, second.id, busy), 'queued');
  // the staged data gone (image deleted), one upload is in flight at a time again: allowed; -1 elsewhere = no limit
  assert.is((await request(`${d.url}/v2/images/${first.id}`, { method: 'DELETE', headers: h })).status, 204);
  assert.is((await upload(d.url, second.id, Buffer.alloc(3 * MiB), h)).status, 204);
  assert.equal((await usage(d.url, busy)).usage.image_size_total, { limit: -1, usage: 3 });
});

t('glance-direct import: the staged size must fit image_size_total, else the task fails (image back to uploading)', async ({ d, direct }) => {
  const h = as(direct);
  const get = async (id: string) => JSON.parse((await request(`${d.url}/v2/images/${id}`, { headers: h })).body.toString());
  const importDirect = async (size: number) => {
    const img = await createImage(d.url, { name: `direct-${size}` }, h);
    const s = await request(`${d.url}/v2/images/${img.id}/stage`, { method: 'PUT', headers: { ...h, 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(size) });
    assert.is(s.status, 204);
    const r = await request(`${d.url}/v2/images/${img.id}/import`, { method: 'POST', headers: { ...h, 'Content-Type': 'application/json' }, body: JSON.stringify({ method: { name: 'glance-direct' } }) });
    assert.is(r.status, 202, r.body.toString());
    await waitUntil(async () => (await get(img.id)).os_glance_import_task === undefined, `import of ${img.id} ends`);
    return get(img.id);
  };
  // under 1 MiB counts as 0 MiB (glance rounds down): fits
  assert.is((await importDirect(1000)).status, 'active');
  // 2 MiB staged: 0 + 2 > 1
  const over = await importDirect(2 * MiB);
  assert.is(over.status, 'uploading');
  assert.ok(over.os_glance_failed_import, 'the store is named as failed');
  assert.is(over.size, null);
});

t('web-download: the staging is cut where it would cross image_stage_total, the task fails, nothing kept', async ({ d, web, source }) => {
  const h = as(web);
  const get = async (id: string) => JSON.parse((await request(`${d.url}/v2/images/${id}`, { headers: h })).body.toString());
  const fetchInto = async (size: number) => {
    const img = await createImage(d.url, { name: `web-${size}` }, h);
    const uri = `http://127.0.0.1:${(source.address() as { port: number }).port}/${size}`;
    const r = await request(`${d.url}/v2/images/${img.id}/import`, { method: 'POST', headers: { ...h, 'Content-Type': 'application/json' }, body: JSON.stringify({ method: { name: 'web-download', uri } }) });
    assert.is(r.status, 202, r.body.toString());
    await waitUntil(async () => (await get(img.id)).os_glance_import_task === undefined, `import of ${img.id} ends`);
    return get(img.id);
  };
  const over = await fetchInto(3 * MiB);
  assert.is(over.status, 'queued');
  assert.ok(over.os_glance_failed_import, 'the store is named as failed');
  assert.is(over.size, null);
  assert.equal(stored(d, over.id), []);
  assert.is((await fetchInto(MiB + 10)).status, 'active');
});

t('use_keystone_limits off: GET /v2/info/usage answers {"usage": {}}', async ({ off }) => {
  assert.equal(await usage(off.url, 'p'), { usage: {} });
});

t.run();
