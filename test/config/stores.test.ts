import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { errors, find, loadText, options, warnings } from './helpers.js';

const multi = (backends: string, rest = '') => loadText(`[DEFAULT]\nenabled_backends = ${backends}\n${rest}`);
const msg = (r: ReturnType<typeof loadText>, option: string) => find(r, option)?.message ?? `(no problem for ${option})`;

test('multi-store: default_backend is required and must name a backend', () => {
  const dirs = '[a]\nfilesystem_store_datadir = /srv/a\n[b]\nfilesystem_store_datadir = /srv/b\n';
  const missing = multi('a:file, b:file', dirs);
  assert.is(missing.config, undefined);
  assert.match(msg(missing, 'glance_store.default_backend'), 'is required when [DEFAULT] enabled_backends is set; set it to one of: a, b');
  const wrong = multi('a:file, b:file', `${dirs}[glance_store]\ndefault_backend = c\n`);
  assert.match(msg(wrong, 'glance_store.default_backend'), '"c" is not one of the enabled backends (a, b)');
});

test('multi-store: a file store needs its datadir', () => {
  const r = multi('fast:file', '[glance_store]\ndefault_backend = fast\n[fast]\nstore_description = x\n');
  assert.equal(options(errors(r)), ['fast.filesystem_store_datadir']);
  assert.match(msg(r, 'fast.filesystem_store_datadir'), 'is required');
  const empty = multi('fast:file', '[glance_store]\ndefault_backend = fast\n[fast]\nfilesystem_store_datadir =\n');
  assert.match(msg(empty, 'fast.filesystem_store_datadir'), 'is empty');
});

test('multi-store: duplicate, reserved and clashing ids', () => {
  const base = '[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = /srv/a\n';
  assert.match(msg(multi('a:file, a:file', base), 'DEFAULT.enabled_backends'), 'listed more than once');
  assert.match(msg(multi('a:file, A:file', base), 'DEFAULT.enabled_backends'), 'listed more than once');
  assert.match(msg(multi('a:file, os_glance_staging_store:file', base), 'DEFAULT.enabled_backends'), 'reserved');
  assert.match(msg(multi('a:file, imaged:file', base), 'DEFAULT.enabled_backends'), 'another meaning');
});

test('store types: unknown is fatal naming the option; known-but-unimplemented says "not yet"', () => {
  const base = '[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = /srv/a\n';
  const unknown = multi('a:file, b:floppy', base);
  assert.is(unknown.config, undefined);
  assert.match(msg(unknown, 'DEFAULT.enabled_backends'), 'unknown store type "floppy" of backend "b"');
  assert.match(msg(multi('a:file, c:vmware', base), 'DEFAULT.enabled_backends'), 'store type "vmware" of backend "c" is not supported by imaged yet');
  const unparsable = multi('a', base);
  assert.equal(errors(unparsable).map((p) => `${p.option}: ${p.message}`), ['DEFAULT.enabled_backends: invalid entry "a": expected id:type']);
  const single = loadText('[glance_store]\ndefault_store = floppy\n');
  assert.match(msg(single, 'glance_store.default_store'), 'unknown store type "floppy"');
  assert.match(msg(loadText('[glance_store]\ndefault_backend = cinder\n'), 'glance_store.default_backend'), 'not supported by imaged yet');
});

test('multi-store: two stores cannot share a datadir', () => {
  const r = multi('a:file, b:file', '[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = /srv/x\n[b]\nfilesystem_store_datadir = /srv/x/\n');
  assert.match(msg(r, 'b.filesystem_store_datadir'), 'also the datadir of backend "a"');
});

test('multi-store: single-store leftovers and unknown store options warn', () => {
  const r = multi(
    'fast:file',
    '[glance_store]\ndefault_backend = fast\ndefault_store = file\nstores = file\nfilesystem_store_datadir = /srv/old\n' +
      '[fast]\nfilesystem_store_datadir = /srv/fast\nweight = 5\nrbd_store_pool = images\nfilesystem_store_metadata_file = /etc/m.json\n',
  );
  assert.equal(errors(r), []);
  assert.equal(options(warnings(r)).sort(), ['fast.rbd_store_pool', 'glance_store.default_store', 'glance_store.filesystem_store_datadir', 'glance_store.stores']);
  assert.match(msg(r, 'glance_store.filesystem_store_datadir'), 'set it in [fast]');
  assert.is(r.config!.stores[0].datadir, '/srv/fast');
  assert.is(r.config!.stores[0].weight, 5);
});

test('multi-store: section names are case-insensitive, ids keep their spelling', () => {
  const r = multi('Fast:file', '[glance_store]\ndefault_backend = Fast\n[FAST]\nfilesystem_store_datadir = /srv/f\n');
  assert.equal(r.problems, []);
  assert.is(r.config!.stores[0].id, 'Fast');
  assert.is(r.config!.stores[0].datadir, '/srv/f');
});

test('an empty enabled_backends means single-store', () => {
  const r = loadText('[DEFAULT]\nenabled_backends =\n[glance_store]\nfilesystem_store_datadir = /srv/i\n');
  assert.equal(r.problems, []);
  assert.is(r.config!.multiStore, false);
  assert.is(r.config!.stores[0].datadir, '/srv/i');
});

test('single-store: default_backend (the multi-store option) is accepted; a warning when glance-api would pick file instead', () => {
  const rbd = loadText('[glance_store]\ndefault_backend = rbd\n');
  assert.is(rbd.config!.stores[0].type, 'rbd');
  assert.equal(rbd.problems.map((p) => [p.level, p.option]), [['warning', 'glance_store.default_backend']]);
  assert.match(msg(rbd, 'glance_store.default_backend'), 'in single-store mode glance-api reads default_store and would use "file". imaged uses "rbd": write default_store = rbd');
  const file = loadText('[glance_store]\ndefault_backend = file\nfilesystem_store_datadir = /srv/x\n');
  assert.equal(file.problems, [], 'same outcome as glance-api: nothing to say');
  assert.equal(loadText('[glance_store]\ndefault_store = rbd\n').problems, []);
});

test('single-store: default_store wins over a different default_backend, with a warning', () => {
  const r = loadText('[glance_store]\ndefault_store = file\ndefault_backend = fs\n');
  assert.is(r.config!.defaultStore, 'file');
  assert.match(msg(r, 'glance_store.default_backend'), 'differs from default_store "file"');
});

test('filesystem_store_file_perm: decimal digits read as octal, like glance_store', () => {
  const perm = (v: string) => loadText(`[glance_store]\nfilesystem_store_file_perm = ${v}\n`);
  assert.is(perm('640').config!.stores[0].filePerm, 0o640);
  assert.is(perm('0640').config!.stores[0].filePerm, 0o640);
  assert.is(perm('600').config!.stores[0].filePerm, 0o600);
  assert.is(perm('0').config!.stores[0].filePerm, 0);
  assert.is(perm('-1').config!.stores[0].filePerm, 0);
  assert.match(msg(perm('680'), 'glance_store.filesystem_store_file_perm'), '8 and 9 cannot occur');
  assert.match(msg(perm('200'), 'glance_store.filesystem_store_file_perm'), 'owner read');
  assert.match(msg(perm('4755'), 'glance_store.filesystem_store_file_perm'), 'at most 777');
  assert.match(msg(perm('rw'), 'glance_store.filesystem_store_file_perm'), 'expected an integer');
});

test('file store: chunk size, thin provisioning, unsupported datadirs', () => {
  assert.match(msg(loadText('[glance_store]\nfilesystem_store_chunk_size = 0\n'), 'glance_store.filesystem_store_chunk_size'), 'at least 1');
  assert.is(loadText('[glance_store]\nfilesystem_thin_provisioning = True\n').config!.stores[0].thinProvisioning, true);
  const dirs = loadText('[glance_store]\nfilesystem_store_datadirs = /a:100\n');
  assert.match(msg(dirs, 'glance_store.filesystem_store_datadirs'), 'not supported');
  assert.match(msg(loadText('[glance_store]\nfilesystem_store_datadir =\n'), 'glance_store.filesystem_store_datadir'), 'is empty');
});

test('single-store: raw [glance_store] options are handed to the store', () => {
  const r = loadText('[glance_store]\nfilesystem_store_datadir = /srv/i\nrbd_store_pool = images\n');
  assert.equal(r.problems, []);
  assert.equal(r.config!.stores[0].options, { filesystem_store_datadir: '/srv/i', rbd_store_pool: 'images' });
});


test('rbd store: glance_store options with defaults; chunk size must be a power of two', () => {
  const ok = multi('fast:rbd, local:file', '[glance_store]\ndefault_backend = fast\n[local]\nfilesystem_store_datadir = /srv/l\n[fast]\nrbd_store_user = client.glance\nrbd_store_ceph_conf = /etc/ceph/c.conf\nrbd_store_chunk_size = 4\n');
  assert.equal(errors(ok), []);
  const rbd = ok.config!.stores.find((s) => s.id === 'fast')!;
  assert.equal(rbd.rbd, { pool: 'images', user: 'glance', cephConf: '/etc/ceph/c.conf', order: 22, connectTimeout: 10 });
  const single = loadText('[glance_store]\ndefault_store = rbd\nrbd_store_pool = vms\n');
  assert.is(single.config!.stores[0].rbd!.pool, 'vms');
  assert.is(single.config!.stores[0].rbd!.order, 23);
  const bad = multi('fast:rbd', '[glance_store]\ndefault_backend = fast\n[fast]\nrbd_store_chunk_size = 3\n');
  assert.match(msg(bad, 'fast.rbd_store_chunk_size'), 'power of two');
});

test.run();
