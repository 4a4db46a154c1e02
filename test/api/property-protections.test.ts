import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { startTestDaemon, as, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, jsonHeaders, PATCH_TYPE } from '../helpers/http.js';
import { loadProtections } from '../../src/auth/property-protections.js';
import { formatEffectiveConfig, loadConfig } from '../../src/config/index.js';
import { errors, loadText, tmpDir, warnings } from '../config/helpers.js';

// The shape of Glance's functional-test property file: x_owner_ for members, spl_* per operation for spl_role,
// everything else admin's.
const RULES = `
[^x_owner_.*]
create = admin,member
read = admin,member
update = admin,member
delete = admin,member

[spl_create_prop]
create = admin,spl_role
read = admin,spl_role
update = admin
delete = admin

[spl_read_prop]
create = admin,spl_role
read = admin,spl_role
update = admin
delete = admin

[spl_update_prop]
create = admin,spl_role
read = admin,spl_role
update = admin,spl_role
delete = admin

[spl_delete_prop]
create = admin,spl_role
read = admin,spl_role
update = admin
delete = admin,spl_role

[.*]
create = admin
read = admin
update = admin
delete = admin
`;

const ADMIN = as('p1', 'admin,member,reader');
const MEMBER = as('p1', 'reader,member');
const SPL = as('p1', 'reader,member,spl_role');

const t = suite<{ d: TestDaemon }>('property protections (roles)');
t.before(async (ctx) => {
  ctx.d = await startTestDaemon({
    tweak: (c) => {
      const file = path.join(c.imaged.stateDir, '..', 'property-protections.conf');
      fs.writeFileSync(file, RULES);
      const { rules, problems } = loadProtections(file, 'roles');
      assert.equal(problems, []);
      c.propertyProtection = { file, format: 'roles', rules };
    },
  });
});
t.after(async (ctx) => {
  await ctx.d.stop();
});

const patch = (base: string, id: string, ops: unknown, headers: Record<string, string>) =>
  request(`${base}/v2/images/${id}`, { method: 'PATCH', headers: { 'Content-Type': PATCH_TYPE, ...headers }, body: JSON.stringify(ops) });
const show = async (base: string, id: string, headers: Record<string, string>) => (await request(`${base}/v2/images/${id}`, { headers })).json;

t('create: a property the caller may not create is 403 naming it; permitted ones are stored and shown', async ({ d }) => {
  const r = await request(`${d.url}/v2/images`, {
    method: 'POST', headers: jsonHeaders(MEMBER),
    body: JSON.stringify({ name: 'image-1', disk_format: 'aki', container_format: 'aki', foo: 'bar', x_owner_foo: 'o_s_bar' }),
  });
  assert.is(r.status, 403);
  assert.match(r.body.toString(), /Attribute &#x27;foo&#x27; is reserved\.|Attribute 'foo' is reserved\./);
  const img = await createImage(d.url, { name: 'image-1', x_owner_foo: 'o_s_bar' }, MEMBER);
  assert.is(img.x_owner_foo, 'o_s_bar');
  // base attributes are not extra properties: [.*] (admin only) does not apply to them
  const p = await patch(d.url, img.id, [{ op: 'replace', path: '/name', value: 'renamed' }, { op: 'replace', path: '/min_ram', value: 64 }], MEMBER);
  assert.is(p.status, 200, p.body.toString());
  assert.is(p.json.name, 'renamed');
});

t('show and list hide what the caller may not read; admin sees everything', async ({ d }) => {
  const img = await createImage(d.url, { name: 'spl', spl_create_prop: 'c', spl_read_prop: 'r', x_owner_a: 'x' }, SPL);
  assert.is(img.spl_read_prop, 'r', 'the creator (spl_role) may read it back');
  const asMember = await show(d.url, img.id, MEMBER);
  assert.is(asMember.x_owner_a, 'x');
  assert.not.ok('spl_read_prop' in asMember);
  assert.not.ok('spl_create_prop' in asMember);
  assert.is(asMember.name, 'spl');
  const list = (await request(`${d.url}/v2/images`, { headers: MEMBER })).json.images;
  const inList = list.find((i: { id: string }) => i.id === img.id);
  assert.ok(inList);
  assert.not.ok('spl_read_prop' in inList);
  const asAdmin = await show(d.url, img.id, ADMIN);
  assert.is(asAdmin.spl_read_prop, 'r');
  assert.is(asAdmin.spl_create_prop, 'c');
});

t("PATCH: Glance's functional test sequence (403 for unpermitted replace/add/remove; update and delete when permitted)", async ({ d }) => {
  const img = await createImage(d.url, {
    name: 'image-1', disk_format: 'aki', container_format: 'aki', spl_create_prop: 'create_bar', spl_read_prop: 'read_bar',
    spl_update_prop: 'update_bar', spl_delete_prop: 'delete_bar',
  }, SPL);
  let r = await patch(d.url, img.id, [{ op: 'replace', path: '/spl_read_prop', value: 'r' }, { op: 'replace', path: '/spl_update_prop', value: 'u' }], SPL);
  assert.is(r.status, 403);
  assert.match(r.body.toString(), /spl_read_prop/);
  r = await patch(d.url, img.id, [{ op: 'add', path: '/spl_new_prop', value: 'new' }], SPL);
  assert.is(r.status, 403, 'add of a new property needs create ([.*] is admin only)');
  r = await patch(d.url, img.id, [{ op: 'remove', path: '/spl_create_prop' }], SPL);
  assert.is(r.status, 403);
  // nothing of the refused patches was applied
  assert.is((await show(d.url, img.id, ADMIN)).spl_update_prop, 'update_bar');
  r = await patch(d.url, img.id, [{ op: 'replace', path: '/spl_update_prop', value: '' }, { op: 'replace', path: '/spl_update_prop', value: 'u' }], SPL);
  assert.is(r.status, 200, r.body.toString());
  assert.is(r.json.spl_update_prop, 'u');
  r = await patch(d.url, img.id, [{ op: 'remove', path: '/spl_delete_prop' }], SPL);
  assert.is(r.status, 200, r.body.toString());
  assert.not.ok('spl_delete_prop' in r.json);
  r = await patch(d.url, img.id, [{ op: 'add', path: '/spl_update_prop', value: 'again' }], SPL);
  assert.is(r.status, 200, 'add on an existing readable property is an update');
  assert.is(r.json.spl_update_prop, 'again');
});

t('PATCH: a property the caller cannot read does not exist for it (409), and survives its other changes', async ({ d }) => {
  const img = await createImage(d.url, { name: 'hid', spl_read_prop: 'secret', x_owner_b: '1' }, SPL);
  let r = await patch(d.url, img.id, [{ op: 'replace', path: '/spl_read_prop', value: 'x' }], MEMBER);
  assert.is(r.status, 409);
  assert.match(r.body.toString(), /Property spl_read_prop does not exist\./);
  r = await patch(d.url, img.id, [{ op: 'remove', path: '/spl_read_prop' }], MEMBER);
  assert.is(r.status, 409);
  r = await patch(d.url, img.id, [{ op: 'add', path: '/spl_read_prop', value: 'x' }], MEMBER);
  assert.is(r.status, 403, 'adding it is a create, which member may not do');
  r = await patch(d.url, img.id, [{ op: 'replace', path: '/x_owner_b', value: '2' }], MEMBER);
  assert.is(r.status, 200);
  assert.not.ok('spl_read_prop' in r.json);
  const asAdmin = await show(d.url, img.id, ADMIN);
  assert.is(asAdmin.spl_read_prop, 'secret');
  assert.is(asAdmin.x_owner_b, '2');
});

t.run();

const c = suite('property protections: configuration');

c('loaded through the config: format, relative path next to the config file, shown by check-config', () => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'pp.conf'), '[^x_]\ncreate = @\nread = @\nupdate = @\ndelete =\n');
  const conf = path.join(dir, 'glance-api.conf');
  fs.writeFileSync(conf, '[DEFAULT]\nproperty_protection_file = pp.conf\nproperty_protection_rule_format = policies\n');
  const r = loadConfig({ configFiles: [conf], configDirs: [] });
  assert.equal(errors(r), []);
  const w = warnings(r).filter((p) => p.option === 'DEFAULT.property_protection_file');
  assert.is(w.length, 1);
  assert.match(w[0].message, /operation delete for rule \^x_ is not found/);
  const pc = r.config!.propertyProtection;
  assert.is(pc.file, path.join(dir, 'pp.conf'));
  assert.is(pc.format, 'policies');
  assert.equal(pc.rules.map((x) => x.section), ['^x_']);
  const out = formatEffectiveConfig(r.config!);
  assert.match(out, new RegExp(`property_protection_file = ${path.join(dir, 'pp.conf').replace(/[.]/g, '\\.')}\n`));
  assert.match(out, /property_protection_rule_format = policies\n/);
  // not "known but ignored" any more: no unknown-option warning either way
  assert.not.ok(r.problems.some((p) => /ignored|unknown/i.test(p.message)));
});

c('an invalid file, a missing file or a bad format stops the load with an error naming them', () => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'bad.conf'), '[^x_]\ncreate = @\nread = @\nupdate = @\n');
  let r = loadText(`[DEFAULT]\nproperty_protection_file = ${path.join(dir, 'bad.conf')}\n`);
  assert.is(r.config, undefined);
  assert.is(errors(r)[0].option, 'DEFAULT.property_protection_file');
  assert.match(errors(r)[0].message, /bad\.conf: \[\^x_\] has no "delete" option/);
  r = loadText(`[DEFAULT]\nproperty_protection_file = ${path.join(dir, 'missing.conf')}\n`);
  assert.match(errors(r)[0].message, /missing\.conf/);
  r = loadText('[DEFAULT]\nproperty_protection_rule_format = acl\n');
  assert.is(errors(r)[0].option, 'DEFAULT.property_protection_rule_format');
});

c.run();
