import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { startTestDaemon, ADMIN, as, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, jsonHeaders, PATCH_TYPE } from '../helpers/http.js';

const t = suite<{ d: TestDaemon }>('images metadata API');
t.before(async (ctx) => {
  ctx.d = await startTestDaemon();
});
t.after(async (ctx) => {
  await ctx.d.stop();
});

const patch = (base: string, id: string, ops: unknown, headers: Record<string, string> = {}) =>
  request(`${base}/v2/images/${id}`, { method: 'PATCH', headers: { 'Content-Type': PATCH_TYPE, ...headers }, body: JSON.stringify(ops) });

t('create returns 201 with Glance fields, Location and import header', async ({ d }) => {
  const r = await request(`${d.url}/v2/images`, {
    method: 'POST', headers: jsonHeaders(ADMIN),
    body: JSON.stringify({ name: 'cirros', disk_format: 'qcow2', container_format: 'bare', tags: ['a', 'a', 'b'], os_distro: 'cirros', min_ram: 64 }),
  });
  assert.is(r.status, 201);
  const img = r.json;
  assert.match(img.id, /^[0-9a-f-]{36}$/);
  assert.is(img.status, 'queued');
  assert.is(img.visibility, 'shared');
  assert.is(img.protected, false);
  assert.is(img.os_hidden, false);
  assert.is(img.size, null);
  assert.is(img.checksum, null);
  assert.is(img.owner, 'admin');
  assert.equal(img.tags.sort(), ['a', 'b']);
  assert.is(img.os_distro, 'cirros');
  assert.is(img.min_ram, 64);
  assert.is(img.self, `/v2/images/${img.id}`);
  assert.is(img.file, `/v2/images/${img.id}/file`);
  assert.is(img.schema, '/v2/schemas/image');
  assert.match(img.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.is(r.headers.location, `${d.url.replace('http://', 'http://')}/v2/images/${img.id}`);
  assert.ok('openstack-image-import-methods' in r.headers);
  assert.match(String(r.headers['x-openstack-request-id']), /^req-/);
  assert.not.ok('stores' in img);
  assert.not.ok('direct_url' in img);
});

t('create with a chosen id; duplicate id is 409', async ({ d }) => {
  const id = '5b1e2a0c-1111-4a2b-9c3d-0123456789ab';
  const img = await createImage(d.url, { id });
  assert.is(img.id, id);
  const r = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders(), body: JSON.stringify({ id }) });
  assert.is(r.status, 409);
  assert.match(r.body.toString(), id);
});

t('create rejects bad input with 400/403 naming the problem', async ({ d }) => {
  const cases: Array<[unknown, number, RegExp]> = [
    [{ disk_format: 'exe' }, 400, /disk_format/],
    [{ container_format: 'tar' }, 400, /container_format/],
    [{ name: 'x'.repeat(256) }, 400, /name/],
    [{ min_ram: -1 }, 400, /min_ram/],
    [{ min_disk: 'big' }, 400, /min_disk/],
    [{ protected: 'yes' }, 400, /protected/],
    [{ visibility: 'everyone' }, 400, /visibility/],
    [{ tags: 'a' }, 400, /tags/],
    [{ tags: ['x'.repeat(256)] }, 400, /tags/],
    [{ foo: 5 }, 400, /foo/],
    [{ id: '../../etc/passwd' }, 400, /id/],
    [{ status: 'active' }, 403, /status/],
    [{ checksum: 'abc' }, 403, /checksum/],
    [{ size: 5 }, 403, /size/],
    [{ self: '/x' }, 403, /self/],
    [{ os_glance_importing_to_stores: 'a' }, 403, /os_glance/],
    [{ deleted: true }, 403, /deleted/],
    [[1, 2], 400, /JSON object/],
  ];
  for (const [body, status, re] of cases) {
    const r = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders(), body: JSON.stringify(body) });
    assert.is(r.status, status, `${JSON.stringify(body)} → ${r.status} ${r.body}`);
    assert.match(r.body.toString(), re);
  }
  const bad = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders(), body: '{"name": ' });
  assert.is(bad.status, 400);
  assert.match(bad.body.toString(), /Malformed JSON/);
  const json = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders({ Accept: 'application/json' }), body: '[' });
  assert.is(json.status, 400);
  assert.is(json.json.code, 400);
  // Deeply nested documents: 400 before anything recurses over them (was a 500: stack overflow), POST and PATCH
  const deep = (n: number) => '{"a":'.repeat(n) + '"x"' + '}'.repeat(n);
  for (const body of [deep(10_000), `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`, deep(40)]) {
    const r = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders(), body });
    assert.is(r.status, 400, r.body.toString().slice(0, 200));
    assert.match(r.body.toString(), /nested deeper/);
  }
  const img = await createImage(d.url);
  const p = await request(`${d.url}/v2/images/${img.id}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/openstack-images-v2.1-json-patch' },
    body: `[{"op":"add","path":"/x","value":${'['.repeat(10_000)}${']'.repeat(10_000)}}]`,
  });
  assert.is(p.status, 400);
  // a string that merely looks nested is fine; a wrong-typed nested value is named without dumping it whole
  const ok = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders(), body: JSON.stringify({ name: '['.repeat(200) }) });
  assert.is(ok.status, 201);
  const wrong = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders(), body: JSON.stringify({ foo: { a: 'x'.repeat(5000) } }) });
  assert.is(wrong.status, 400);
  assert.ok(wrong.body.length < 2000, `error body is ${wrong.body.length} bytes`);
});

t('public visibility is admin-only; owner of another project is refused', async ({ d }) => {
  const r = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders(as('p1')), body: JSON.stringify({ visibility: 'public' }) });
  assert.is(r.status, 403);
  const r2 = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders(as('p1')), body: JSON.stringify({ owner: 'p2' }) });
  assert.is(r2.status, 403);
  const ok = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders(ADMIN), body: JSON.stringify({ visibility: 'public' }) });
  assert.is(ok.status, 201);
});

t('trusted headers: leaving X-Roles out gives no roles, never the noauth default admin', async ({ d }) => {
  const none = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders(), body: JSON.stringify({ visibility: 'public' }) });
  assert.is(none.status, 403);
  const noRoles = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders({ 'X-Project-Id': 'p1' }), body: JSON.stringify({ visibility: 'public' }) });
  assert.is(noRoles.status, 403);
});

t('an id chosen in upper case is kept as given (as Glance stores it) and finds its image', async ({ d }) => {
  const id = randomUUID().toUpperCase();
  const c = await request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders(), body: JSON.stringify({ id }) });
  assert.is(c.status, 201);
  assert.is(c.json.id, id);
  const r = await request(`${d.url}/v2/images/${id}`);
  assert.is(r.status, 200);
  assert.is(r.json.id, id);
  assert.is((await request(`${d.url}/v2/images/${id}/tags/x`, { method: 'PUT' })).status, 204);
  assert.is((await request(`${d.url}/v2/images/${id}`, { method: 'DELETE' })).status, 204);
  assert.is((await request(`${d.url}/v2/images/${id}`)).status, 404);
});

t('show: 404 for unknown, malformed and path-like ids', async ({ d }) => {
  for (const id of ['00000000-0000-0000-0000-000000000000', 'nope', '..%2F..%2Fetc', '%2e%2e']) {
    const r = await request(`${d.url}/v2/images/${id}`);
    assert.is(r.status, 404, id);
  }
});

t('patch: replace/add/remove with Glance semantics', async ({ d }) => {
  const img = await createImage(d.url, { name: 'a', os_distro: 'x' });
  let r = await patch(d.url, img.id, [
    { op: 'replace', path: '/name', value: 'b' },
    { op: 'add', path: '/hw_disk_bus', value: 'scsi' },
    { op: 'add', path: '/os_distro', value: 'y' },
    { op: 'remove', path: '/os_distro' },
    { op: 'replace', path: '/tags', value: ['t1'] },
    { op: 'replace', path: '/min_disk', value: 2 },
    { op: 'replace', path: '/protected', value: true },
  ]);
  assert.is(r.status, 200, r.body.toString());
  assert.is(r.json.name, 'b');
  assert.is(r.json.hw_disk_bus, 'scsi');
  assert.not.ok('os_distro' in r.json);
  assert.equal(r.json.tags, ['t1']);
  assert.is(r.json.min_disk, 2);
  assert.is(r.json.protected, true);
  const show = await request(`${d.url}/v2/images/${img.id}`);
  assert.is(show.json.hw_disk_bus, 'scsi');

  const bad: Array<[unknown, number]> = [
    [[{ op: 'replace', path: '/status', value: 'active' }], 403],
    [[{ op: 'replace', path: '/checksum', value: 'x' }], 403],
    [[{ op: 'add', path: '/os_glance_x', value: 'x' }], 403],
    [[{ op: 'remove', path: '/name' }], 403],
    [[{ op: 'remove', path: '/nonexistent' }], 409],
    [[{ op: 'replace', path: '/nonexistent', value: 'x' }], 409],
    [[{ op: 'replace', path: '/disk_format', value: 'exe' }], 400],
    [[{ op: 'replace', path: '/min_ram', value: 'x' }], 400],
    [[{ op: 'add', path: '/prop', value: 7 }], 400],
    [[{ op: 'move', path: '/name', from: '/x' }], 400],
    [[{ op: 'replace', path: 'name', value: 'x' }], 400],
    [[{ op: 'replace', path: '/a/b', value: 'x' }], 400],
    [[{ op: 'replace', path: '/name' }], 400],
    [{ op: 'replace' }, 400],
    [[{ op: 'replace', path: '/visibility', value: 'public' }], 403],
  ];
  for (const [ops, status] of bad) {
    r = await patch(d.url, img.id, ops, as('admin', 'member'));
    assert.is(r.status, status, `${JSON.stringify(ops)} → ${r.status} ${r.body}`);
  }
  const wrongType = await request(`${d.url}/v2/images/${img.id}`, { method: 'PATCH', headers: jsonHeaders(), body: '[]' });
  assert.is(wrongType.status, 415);
  assert.is(wrongType.headers['accept-patch'], PATCH_TYPE);
  const unknown = await patch(d.url, '00000000-0000-0000-0000-000000000000', []);
  assert.is(unknown.status, 404);
});

t('protected images cannot be deleted; delete gives 204 then 404', async ({ d }) => {
  const img = await createImage(d.url, { protected: true });
  let r = await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE' });
  assert.is(r.status, 403);
  assert.match(r.body.toString(), /protected/);
  await patch(d.url, img.id, [{ op: 'replace', path: '/protected', value: false }]);
  r = await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE' });
  assert.is(r.status, 204);
  r = await request(`${d.url}/v2/images/${img.id}`);
  assert.is(r.status, 404);
  r = await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE' });
  assert.is(r.status, 404);
});

t('tags: put, idempotent, delete, 404 on missing tag', async ({ d }) => {
  const img = await createImage(d.url);
  assert.is((await request(`${d.url}/v2/images/${img.id}/tags/blue`, { method: 'PUT' })).status, 204);
  assert.is((await request(`${d.url}/v2/images/${img.id}/tags/blue`, { method: 'PUT' })).status, 204);
  assert.equal((await request(`${d.url}/v2/images/${img.id}`)).json.tags, ['blue']);
  assert.is((await request(`${d.url}/v2/images/${img.id}/tags/blue`, { method: 'DELETE' })).status, 204);
  assert.is((await request(`${d.url}/v2/images/${img.id}/tags/blue`, { method: 'DELETE' })).status, 404);
  assert.is((await request(`${d.url}/v2/images/${img.id}/tags/${'x'.repeat(256)}`, { method: 'PUT' })).status, 400);
  const get = await request(`${d.url}/v2/images/${img.id}/tags/blue`);
  assert.is(get.status, 405);
  assert.is(get.headers.allow, 'PUT, DELETE');
});

t.run();
