import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, upload } from '../helpers/http.js';
import { glanceEnv, glanceFileReads, type GlanceEnv } from '../helpers/glance.js';
import { run } from '../helpers/proc.js';

// Edge mode in front of Debian's real glance-api 25 (test/env/glance.sh), driven by the real clients too.

const MEMBER = (p: string) => ({ 'X-Project-Id': p, 'X-Roles': 'member,reader' });
const ADMIN = { 'X-Project-Id': 'admin-project', 'X-Roles': 'admin,member,reader' };
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

const t = suite<{ g: GlanceEnv; edge: TestDaemon; home: string }>('edge mode in front of a real glance-api');
t.before(async (ctx) => {
  ctx.g = glanceEnv();
  ctx.edge = await startTestDaemon({
    tweak: (c) => {
      c.imaged.upstream = ctx.g.url;
      c.cache.dir = path.join(c.imaged.stateDir, 'cache');
      c.cache.maxSize = 1 << 30;
      c.cache.hardMaxSize = 3 << 29;
    },
  });
  ctx.home = mkdtempSync(path.join(os.tmpdir(), 'imaged-edge-home-'));
  cpSync(ctx.g.clientHome, ctx.home, { recursive: true }); // glanceclient's pre-seeded schema cache
});
t.after(async (ctx) => ctx.edge?.stop());

t('concurrent downloads through the edge: one read of glance, bodies verified', async ({ g, edge }) => {
  const data = randomBytes(8 << 20);
  const img = await createImage(g.url, { name: 'edge-glance' }, MEMBER('p1'));
  assert.is((await upload(g.url, img.id, data, MEMBER('p1'))).status, 204);
  const bodies = await Promise.all(Array.from({ length: 16 }, () => request(`${edge.url}/v2/images/${img.id}/file`, { headers: MEMBER('p1') })));
  for (const b of bodies) {
    assert.is(b.status, 200);
    assert.ok(b.body.equals(data));
  }
  assert.is(glanceFileReads(g, img.id), 1);
  const again = await request(`${edge.url}/v2/images/${img.id}/file`, { headers: MEMBER('p1') });
  assert.is(again.headers['content-md5'], md5(data));
  assert.is(glanceFileReads(g, img.id), 1);
  // glance decides access: another project's member cannot see p1's (shared-by-default, no members) image
  assert.is((await request(`${edge.url}/v2/images/${img.id}/file`, { headers: MEMBER('p2') })).status, 404);
  // deactivated upstream: glance refuses members, so does the edge, even though the bytes are cached
  assert.is((await request(`${g.url}/v2/images/${img.id}/actions/deactivate`, { method: 'POST', headers: ADMIN })).status, 204);
  assert.is((await request(`${edge.url}/v2/images/${img.id}/file`, { headers: MEMBER('p1') })).status, 403);
  assert.is((await request(`${g.url}/v2/images/${img.id}/actions/reactivate`, { method: 'POST', headers: ADMIN })).status, 204);
  assert.is((await request(`${g.url}/v2/images/${img.id}`, { method: 'DELETE', headers: MEMBER('p1') })).status, 204);
  assert.is((await request(`${edge.url}/v2/images/${img.id}/file`, { headers: MEMBER('p1') })).status, 404);
});

t('the real clients work through the edge (discovery points back at the edge)', async ({ g, edge, home }) => {
  const file = path.join(home, 'disk.raw');
  const data = randomBytes(3 << 20);
  writeFileSync(file, data);
  const env = { PATH: '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8' };
  const osc = await run('/usr/bin/openstack', ['--os-auth-type', 'none', '--os-endpoint', edge.url, 'image', 'create', '--file', file,
    '--disk-format', 'raw', '--container-format', 'bare', '-f', 'json', 'osc-via-edge'], { env, timeoutMs: 90_000 });
  assert.is(osc.code, 0, osc.stderr);
  const id = JSON.parse(osc.stdout).id;
  assert.is((await request(`${g.url}/v2/images/${id}`)).json.checksum, md5(data));
  const out = path.join(home, 'saved');
  const gl = await run('/usr/bin/glance', ['--os-image-url', edge.url, '--os-auth-token', 'x', 'image-download', '--file', out, id], { env, timeoutMs: 90_000 });
  assert.is(gl.code, 0, gl.stderr);
  assert.ok(readFileSync(out).equals(data));
  assert.is(glanceFileReads(g, id), 1);
  const list = await run('/usr/bin/glance', ['--os-image-url', edge.url, '--os-auth-token', 'x', 'image-list'], { env, timeoutMs: 90_000 });
  assert.is(list.code, 0, list.stderr);
  assert.match(list.stdout, /osc-via-edge/);
  const del = await run('/usr/bin/openstack', ['--os-auth-type', 'none', '--os-endpoint', edge.url, 'image', 'delete', id], { env, timeoutMs: 90_000 });
  assert.is(del.code, 0, del.stderr);
});

t.run();
