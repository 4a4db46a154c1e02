import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { TestDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/proc.js';
import { request } from '../helpers/http.js';
import { issueToken, keystoneEnv, startKeystoneDaemon, type KeystoneEnv } from '../helpers/keystone.js';

// The real OpenStack clients from Debian with password auth through Keystone: they find imaged in the catalog
// (the image endpoint test/env/keystone.sh registers, KEYSTONE_IMAGE_PORT), so this daemon listens there.

interface Ctx { k: KeystoneEnv; d: TestDaemon; home: string; file: string; data: Buffer }
const t = suite<Ctx>('keystone: openstack, glance and openstacksdk with password auth');

t.before(async (ctx) => {
  ctx.k = keystoneEnv();
  ctx.d = await startKeystoneDaemon(ctx.k, {}, { port: ctx.k.imagePort });
  ctx.home = mkdtempSync(path.join(os.tmpdir(), 'imaged-ks-clients-'));
  ctx.data = randomBytes(1024 * 1024 + 3);
  ctx.file = path.join(ctx.home, 'disk.raw');
  writeFileSync(ctx.file, ctx.data);
});
t.after(async (ctx) => {
  await ctx.d?.stop();
  if (ctx.home) rmSync(ctx.home, { recursive: true, force: true });
});

/** OS_* for a test user (project alpha unless said otherwise), as a user's openrc would set them. */
const osEnv = (ctx: Ctx, user = 'alpha-member', project = 'alpha') => ({
  PATH: '/usr/bin:/bin', HOME: ctx.home, LANG: 'C.UTF-8',
  OS_AUTH_URL: `${ctx.k.url}/v3`, OS_IDENTITY_API_VERSION: '3', OS_AUTH_TYPE: 'password',
  OS_USERNAME: user, OS_PASSWORD: ctx.k.demoPassword, OS_PROJECT_NAME: project,
  OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_REGION_NAME: ctx.k.region,
  OS_INTERFACE: 'public', OS_IMAGE_API_VERSION: '2',
});
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

async function osc(ctx: Ctx, ...args: string[]) {
  const r = await run('/usr/bin/openstack', args, { env: osEnv(ctx), timeoutMs: 90_000 });
  assert.is(r.code, 0, `openstack ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

t('openstack image create/list/show/save/delete through the catalog; owner = the user\'s project', async (ctx) => {
  const created = JSON.parse(await osc(ctx, 'image', 'create', '--file', ctx.file, '--disk-format', 'raw', '--container-format', 'bare', '-f', 'json', 'ks-osc'));
  const id = created.id;
  assert.is(created.owner, ctx.k.env.KEYSTONE_PROJECT_ALPHA);
  const listed = JSON.parse(await osc(ctx, 'image', 'list', '-f', 'json'));
  assert.ok(listed.some((i: any) => i.ID === id));
  const shown = JSON.parse(await osc(ctx, 'image', 'show', '-f', 'json', id));
  assert.is(shown.checksum, md5(ctx.data));
  const out = path.join(ctx.home, 'saved');
  await osc(ctx, 'image', 'save', '--file', out, id);
  assert.ok(readFileSync(out).equals(ctx.data));
  await osc(ctx, 'image', 'delete', id);
  const tok = (await issueToken(ctx.k, 'alpha-member', { project: 'alpha' })).token;
  assert.is((await request(`${ctx.d.url}/v2/images/${id}`, { headers: { 'X-Auth-Token': tok } })).status, 404);
  // a wrong password never gets as far as imaged
  const bad = await run('/usr/bin/openstack', ['image', 'list'], { env: { ...osEnv(ctx), OS_PASSWORD: 'wrong' }, timeoutMs: 90_000 });
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr, /401|authenticate/i);
});

t('glance image-create / image-list / image-show', async (ctx) => {
  const gl = async (...args: string[]) => {
    const r = await run('/usr/bin/glance', args, { env: osEnv(ctx, 'beta-member', 'beta'), timeoutMs: 90_000 });
    assert.is(r.code, 0, `glance ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const out = await gl('image-create', '--name', 'ks-glance', '--disk-format', 'raw', '--container-format', 'bare', '--file', ctx.file);
  const id = /\|\s+id\s+\|\s+([0-9a-f-]{36})/.exec(out)?.[1];
  assert.ok(id, out);
  assert.match(out, new RegExp(`owner\\s+\\|\\s+${ctx.k.env.KEYSTONE_PROJECT_BETA}`));
  assert.match(await gl('image-list'), /ks-glance/);
  assert.match(await gl('image-show', id!), new RegExp(md5(ctx.data)));
  await gl('image-delete', id!);
});

t('openstacksdk with password auth: create, list, download, delete', async (ctx) => {
  const script = `
import hashlib, json, sys, openstack
conn = openstack.connect(auth_url=sys.argv[1], username='gamma-member', password=sys.argv[2], project_name='gamma',
    user_domain_name='Default', project_domain_name='Default', region_name=sys.argv[3], interface='public',
    load_envvars=False, load_yaml_config=False)
img = conn.image.create_image(name='ks-sdk', filename=sys.argv[4], disk_format='raw', container_format='bare', wait=True)
img = conn.image.get_image(img.id)
names = [i.name for i in conn.image.images()]
data = conn.image.download_image(img)
data = getattr(data, 'content', data)
conn.image.delete_image(img)
print(json.dumps({'owner': img.owner, 'status': img.status, 'names': names, 'md5': hashlib.md5(data).hexdigest()}))
`;
  const r = await run('/usr/bin/python3', ['-c', script, `${ctx.k.url}/v3`, ctx.k.demoPassword, ctx.k.region, ctx.file], {
    env: { PATH: '/usr/bin:/bin', HOME: ctx.home, LANG: 'C.UTF-8' }, timeoutMs: 90_000,
  });
  assert.is(r.code, 0, r.stdout + r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.is(res.owner, ctx.k.env.KEYSTONE_PROJECT_GAMMA);
  assert.is(res.status, 'active');
  assert.is(res.md5, md5(ctx.data));
  assert.ok(res.names.includes('ks-sdk'));
});

t.run();
