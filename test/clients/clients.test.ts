import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/proc.js';
import { request } from '../helpers/http.js';

// The real OpenStack clients from Debian, unchanged, against imaged. Each gets a private HOME, so
// glanceclient's schema cache starts empty and its second command reads what the first one cached.

const t = suite<{ d: TestDaemon; home: string; file: string; data: Buffer }>('real clients: openstack, glance, openstacksdk');
t.before(async (ctx) => {
  ctx.d = await startTestDaemon({ trustHeaders: false });
  ctx.home = mkdtempSync(path.join(os.tmpdir(), 'imaged-clients-'));
  ctx.data = randomBytes(5 * 1024 * 1024 + 7);
  ctx.file = path.join(ctx.home, 'disk.qcow2');
  writeFileSync(ctx.file, ctx.data);
});
t.after(async (ctx) => {
  await ctx.d.stop();
  rmSync(ctx.home, { recursive: true, force: true });
});

const env = (home: string) => ({ PATH: '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8' });
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

async function osc(ctx: { d: TestDaemon; home: string }, ...args: string[]) {
  const r = await run('/usr/bin/openstack', ['--os-auth-type', 'none', '--os-endpoint', ctx.d.url, ...args], { env: env(ctx.home), timeoutMs: 90_000 });
  assert.is(r.code, 0, `openstack ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function glance(ctx: { d: TestDaemon; home: string }, ...args: string[]) {
  const r = await run('/usr/bin/glance', ['--os-image-url', ctx.d.url, '--os-auth-token', 'x', ...args], { env: env(ctx.home), timeoutMs: 90_000 });
  assert.is(r.code, 0, `glance ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

t('openstack image create/list/show/set/save/delete', async (ctx) => {
  const created = JSON.parse(await osc(ctx, 'image', 'create', '--file', ctx.file, '--disk-format', 'qcow2', '--container-format', 'bare', '-f', 'json', 'osc-image'));
  const id = created.id;
  assert.match(id, /^[0-9a-f-]{36}$/);
  const listed = JSON.parse(await osc(ctx, 'image', 'list', '-f', 'json'));
  assert.ok(listed.some((i: any) => i.ID === id && i.Name === 'osc-image'));
  await osc(ctx, 'image', 'set', '--property', 'os_distro=cirros', '--min-ram', '128', '--tag', 'blue', id);
  const shown = JSON.parse(await osc(ctx, 'image', 'show', '-f', 'json', id));
  assert.is(shown.status, 'active');
  assert.is(shown.checksum, md5(ctx.data));
  assert.is(shown.min_ram, 128);
  assert.is(shown.size, ctx.data.length);
  assert.match(JSON.stringify(shown.properties ?? shown), /cirros/);
  const out = path.join(ctx.home, 'saved');
  await osc(ctx, 'image', 'save', '--file', out, id);
  assert.ok(readFileSync(out).equals(ctx.data));
  await osc(ctx, 'image', 'delete', id);
  assert.is((await request(`${ctx.d.url}/v2/images/${id}`)).status, 404);
});

t('glance image-create/-list/-show/-download/-tag-update/-deactivate, several commands in a row', async (ctx) => {
  const out1 = await glance(ctx, 'image-create', '--name', 'gl-image', '--disk-format', 'raw', '--container-format', 'bare', '--file', ctx.file);
  const id = /\|\s+id\s+\|\s+([0-9a-f-]{36})/.exec(out1)?.[1];
  assert.ok(id, out1);
  assert.match(await glance(ctx, 'image-list'), /gl-image/);
  assert.match(await glance(ctx, 'image-show', id!), new RegExp(md5(ctx.data)));
  await glance(ctx, 'image-tag-update', id!, 'green');
  assert.match(await glance(ctx, 'image-show', id!), /green/);
  const out = path.join(ctx.home, 'gl-saved');
  await glance(ctx, 'image-download', '--file', out, id!);
  assert.ok(readFileSync(out).equals(ctx.data));
  await glance(ctx, 'image-deactivate', id!);
  assert.match(await glance(ctx, 'image-show', id!), /deactivated/);
  await glance(ctx, 'image-reactivate', id!);
  await glance(ctx, 'image-update', '--property', 'hw_disk_bus=scsi', id!);
  assert.match(await glance(ctx, 'image-show', id!), /scsi/);
  // Schema properties the image does not have yet (is_base: false → glanceclient PATCHes "add", not "replace")
  await glance(ctx, 'image-update', '--os-distro', 'ubuntu', '--property', 'description=hi there', id!);
  const shown = await glance(ctx, 'image-show', id!);
  assert.match(shown, /os_distro\s*\|\s*ubuntu/);
  assert.match(shown, /hi there/);
  await glance(ctx, 'image-delete', id!);
  assert.is((await request(`${ctx.d.url}/v2/images/${id}`)).status, 404);
});

t('sharing: glance member-create/-update/-list/-delete, openstack image member list', async (ctx) => {
  // (openstack image add project looks the project up in Keystone, which a noauth site has not.)
  const created = JSON.parse(await osc(ctx, 'image', 'create', '--shared', '--disk-format', 'raw', '--container-format', 'bare', '-f', 'json', 'shared-image'));
  const id = created.id;
  await glance(ctx, 'member-create', id, 'project-b');
  await glance(ctx, 'member-create', id, 'project-c');
  // the noauth identity is an admin, who may set any member's status (as in Glance)
  await glance(ctx, 'member-update', id, 'project-c', 'accepted');
  const table = await glance(ctx, 'member-list', '--image-id', id);
  assert.match(table, /project-b\s*\|\s*pending/);
  assert.match(table, /project-c\s*\|\s*accepted/);
  await glance(ctx, 'member-delete', id, 'project-c');
  const listed = JSON.parse(await osc(ctx, 'image', 'member', 'list', '-f', 'json', id));
  assert.equal(listed.map((m: any) => [m['Member ID'], m.Status]), [['project-b', 'pending']]);
  await osc(ctx, 'image', 'delete', id);
});

t('openstacksdk with auth_type none: create, list, download, delete', async (ctx) => {
  const script = `
import hashlib, json, sys, openstack
conn = openstack.connect(auth_type='none', auth={'endpoint': sys.argv[1]}, load_envvars=False, load_yaml_config=False)
img = conn.image.create_image(name='sdk-image', filename=sys.argv[2], disk_format='raw', container_format='bare', wait=True)
img = conn.image.get_image(img.id)
names = [i.name for i in conn.image.images()]
data = conn.image.download_image(img)
data = getattr(data, 'content', data)  # sdk 0.101 returns the HTTP response
conn.image.delete_image(img)
print(json.dumps({'id': img.id, 'status': img.status, 'checksum': img.checksum, 'names': names, 'md5': hashlib.md5(data).hexdigest()}))
`;
  const r = await run('/usr/bin/python3', ['-c', script, ctx.d.url, ctx.file], { env: env(ctx.home), timeoutMs: 90_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.is(res.status, 'active');
  assert.is(res.checksum, md5(ctx.data));
  assert.is(res.md5, md5(ctx.data));
  assert.ok(res.names.includes('sdk-image'));
  assert.is((await request(`${ctx.d.url}/v2/images/${res.id}`)).status, 404);
});

t.run();
