import path from 'node:path';
import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config/index.js';
import { errors, find, fixture, loadText, options, warnings } from './helpers.js';

test('real glance single-store config loads cleanly', () => {
  const r = loadConfig({ configFiles: [fixture('glance-api-single.conf')], configDirs: [] });
  assert.equal(r.problems, []);
  const c = r.config!;
  assert.is(c.bindHost, '127.0.0.1');
  assert.is(c.bindPort, 9292);
  assert.is(c.showImageDirectUrl, true);
  assert.is(c.showMultipleLocations, false);
  assert.equal(c.enabledImportMethods, ['glance-direct', 'web-download', 'copy-image']);
  assert.is(c.multiStore, false);
  assert.is(c.stores.length, 1);
  assert.is(c.stores[0].id, 'file');
  assert.is(c.stores[0].type, 'file');
  assert.is(c.stores[0].isDefault, true);
  assert.is(c.stores[0].datadir, '/tmp/glancepeer/images/single');
  assert.is(c.stores[0].options.stores, 'file,http');
  assert.is(c.defaultStore, 'file');
  assert.is(c.imaged.logLevel, 'debug'); // [DEFAULT] debug = True
  assert.is(c.imaged.stateDir, '/var/lib/imaged');
  assert.is(c.imaged.serviceUid, 42424);
  assert.is(c.imaged.auth, 'noauth');
  assert.equal(c.sources, [fixture('glance-api-single.conf')]);
  assert.is(c.embeddedDefault, false);
});

test('real glance multi-store config (+ owner-context overlay) loads cleanly', () => {
  const files = [fixture('glance-api-multi.conf'), fixture('glance-api-noauthowner.conf')];
  const r = loadConfig({ configFiles: files, configDirs: [] });
  assert.equal(r.problems, []);
  const c = r.config!;
  assert.is(c.multiStore, true);
  assert.equal(
    c.stores.map((s) => [s.id, s.type, s.description, s.datadir, s.isDefault]),
    [
      ['fast', 'file', 'fast local file store', '/tmp/glancepeer/images/fast', true],
      ['slow', 'file', 'slow local file store', '/tmp/glancepeer/images/slow', false],
    ],
  );
  assert.is(c.defaultStore, 'fast');
  assert.equal(c.sources, files);
});

test('single store in the install-guide shape, with every [imaged] option', () => {
  const r = loadConfig({ configFiles: [fixture('single-store.conf')], configDirs: [] });
  assert.equal(r.problems, []);
  const c = r.config!;
  assert.is(c.bindHost, '0.0.0.0');
  assert.is(c.bindPort, 9393);
  assert.is(c.imageSizeCap, 10737418240);
  assert.equal(c.enabledImportMethods, ['glance-direct', 'web-download']);
  const s = c.stores[0];
  assert.is(s.id, 'file');
  assert.is(s.datadir, '/mnt/glance_images'); // trailing slash dropped
  assert.is(s.filePerm, 0o640);
  assert.is(s.chunkSize, 131072);
  assert.is(s.thinProvisioning, true);
  assert.equal(c.imaged, {
    stateDir: '/srv/imaged/state',
    serviceUid: 1500,
    serviceGid: 1501,
    auth: 'noauth',
    noauthProject: 'p-1',
    noauthUser: 'u-1',
    noauthRoles: ['member', 'reader'],
    trustContextHeaders: true,
    logLevel: 'warn',
    sendfile: false,
    sendThreads: 2,
    tcpNopush: false,
    hashWorkers: false,
    upstream: null,
    upstreamGracePeriod: 300,
    upstreamTimeout: 30,
    drainTimeout: 25,
  });
});

test('legacy default_store without a datadir gets glance\'s default datadir', () => {
  const r = loadConfig({ configFiles: [fixture('legacy-default-store.conf')], configDirs: [] });
  assert.equal(r.problems, []);
  assert.is(r.config!.stores[0].datadir, '/var/lib/glance/images');
  assert.is(r.config!.stores[0].chunkSize, 65536);
  assert.is(r.config!.stores[0].filePerm, 0);
  assert.is(r.config!.imaged.logLevel, 'debug');
});

test('multi-store fixture: weights, descriptions, relative datadir, default backend', () => {
  const r = loadConfig({ configFiles: [fixture('multi-store.conf')], configDirs: [] });
  assert.equal(r.problems, []);
  const c = r.config!;
  assert.is(c.hashingAlgorithm, 'sha256');
  assert.is(c.defaultStore, 'local');
  const [fast, local] = c.stores;
  assert.equal([fast.id, fast.weight, fast.description, fast.chunkSize, fast.isDefault], ['fast', 100, 'NVMe pool', 1048576, false]);
  assert.equal([local.id, local.weight, local.description, local.isDefault], ['local', 0, 'node-local disk', true]);
  assert.is(local.datadir, path.resolve(process.cwd(), 'relative/images'));
  assert.is(fast.options.store_description, 'NVMe pool');
});

test('--config-dir: *.conf in sorted order after the --config-files; later wins', () => {
  const r = loadConfig({ configFiles: [fixture('single-store.conf')], configDirs: [fixture('override.d')] });
  assert.equal(r.problems, []);
  const c = r.config!;
  assert.is(c.bindPort, 9301);
  assert.is(c.stores[0].datadir, '/srv/override');
  assert.is(c.bindHost, '0.0.0.0'); // untouched by the dir
  assert.equal(c.sources, [fixture('single-store.conf'), fixture('override.d', '10-base.conf'), fixture('override.d', '20-override.conf')]);
});

test('--config-file and --config-dir apply in command-line order, as oslo.config: a dir given first loses to a later file', () => {
  const base = fixture('single-store.conf');
  const dir = fixture('override.d');
  const dirFirst = loadConfig({ args: [{ kind: 'dir', path: dir }, { kind: 'file', path: base }] });
  assert.equal(dirFirst.problems, []);
  assert.is(dirFirst.config!.bindPort, 9393, 'the base file, read last, wins');
  assert.is(dirFirst.config!.stores[0].datadir, '/mnt/glance_images');
  assert.equal(dirFirst.config!.sources, [fixture('override.d', '10-base.conf'), fixture('override.d', '20-override.conf'), base]);
  const fileFirst = loadConfig({ args: [{ kind: 'file', path: base }, { kind: 'dir', path: dir }] });
  assert.is(fileFirst.config!.bindPort, 9301);
});

test('repeated --config-file: later files win per option', () => {
  const r = loadText('[DEFAULT]\nbind_port = 1000\nbind_host = ::1\n', '[DEFAULT]\nbind_port = 2000\n');
  assert.is(r.config!.bindPort, 2000);
  assert.is(r.config!.bindHost, '::1');
});

test('missing config file is an error naming it; a missing --config-dir is a warning and is skipped', () => {
  const r = loadConfig({ configFiles: ['/nonexistent/glance-api.conf'], configDirs: ['/nonexistent.d'] });
  assert.is(r.config, undefined);
  assert.equal(r.problems.map((p) => [p.level, p.option]), [['error', '--config-file'], ['warning', '--config-dir']]);
  assert.match(r.problems[0].message, '/nonexistent/glance-api.conf does not exist');
  assert.is(r.problems[1].message, 'config dir /nonexistent.d does not exist; skipped');
  const w = loadConfig({ configFiles: [fixture('single-store.conf')], configDirs: ['/nonexistent.d'] });
  assert.ok(w.config, 'the daemon still starts');
  assert.equal(w.problems.map((p) => [p.level, p.option]), [['warning', '--config-dir']]);
  assert.equal(w.config!.sources, [fixture('single-store.conf')]);
  const d = loadConfig({ configFiles: [fixture('override.d')], configDirs: [] });
  assert.match(errors(d)[0].message, /is a directory/);
});

test('parse errors name file and line', () => {
  const r = loadText('[DEFAULT]\nbind_port = 9292\nthis line is junk\n');
  assert.is(r.config, undefined);
  assert.match(errors(r)[0].message, /cannot parse .*0\.conf: no "=" or ":"/);
  assert.match(errors(r)[0].source!, /0\.conf:3$/);
});

test('no files at all: glance defaults, imaged state dir', () => {
  const r = loadConfig({ configFiles: [], configDirs: [] });
  assert.equal(r.problems, []);
  const c = r.config!;
  assert.is(c.bindHost, '127.0.0.1');
  assert.is(c.bindPort, 9292);
  assert.is(c.imageSizeCap, 1099511627776);
  assert.is(c.userStorageQuota, '0');
  assert.is(c.imageMemberQuota, 128);
  assert.is(c.hashingAlgorithm, 'sha512');
  assert.is(c.stores[0].datadir, '/var/lib/glance/images');
  assert.is(c.imaged.stateDir, '/var/lib/imaged');
  assert.equal(c.imaged.noauthRoles, ['admin', 'member', 'reader']);
  assert.is(c.imaged.sendfile, true);
  assert.is(c.imaged.hashWorkers, true);
  assert.is(c.imaged.trustContextHeaders, false);
  assert.equal(c.sources, []);
});

test('invalid values: errors name option, value and source line', () => {
  const r = loadConfig({ configFiles: [fixture('invalid-values.conf')], configDirs: [] });
  assert.is(r.config, undefined);
  assert.equal(options(errors(r)).sort(), [
    'DEFAULT.bind_port',
    'DEFAULT.enabled_import_methods',
    'DEFAULT.hashing_algorithm',
    'DEFAULT.image_size_cap',
    'DEFAULT.show_image_direct_url',
    'glance_store.filesystem_store_file_perm',
    'imaged.log_level',
    'imaged.service_uid',
  ]);
  const port = find(r, 'DEFAULT.bind_port')!;
  assert.is(`${port.option}: ${port.message}`, 'DEFAULT.bind_port: invalid value "abc": expected an integer');
  assert.is(port.source, `${fixture('invalid-values.conf')}:2`);
  assert.match(find(r, 'DEFAULT.show_image_direct_url')!.message, /expected a boolean/);
  assert.match(find(r, 'DEFAULT.hashing_algorithm')!.message, /sha999/);
});

test('booleans: oslo spellings, any case', () => {
  for (const [raw, want] of [['True', true], ['FALSE', false], ['yes', true], ['No', false], ['on', true], ['OFF', false], ['1', true], ['0', false]] as const) {
    assert.is(loadText(`[DEFAULT]\nshow_multiple_locations = ${raw}\n`).config!.showMultipleLocations, want, raw);
  }
});

test('ints: range checks, empty means default', () => {
  assert.match(find(loadText('[DEFAULT]\nbind_port = 0\n'), 'DEFAULT.bind_port')!.message, 'must be between 1 and 65535');
  assert.match(find(loadText('[DEFAULT]\nbind_port = 65536\n'), 'DEFAULT.bind_port')!.message, 'must be between 1 and 65535');
  assert.match(find(loadText('[DEFAULT]\nbind_port = 9292.5\n'), 'DEFAULT.bind_port')!.message, 'expected an integer');
  assert.is(loadText('[DEFAULT]\nbind_port =\n').config!.bindPort, 9292);
  assert.is(loadText('[DEFAULT]\nbind_port = 08080\n').config!.bindPort, 8080);
  // image_member_quota: Glance's IntOpt, negative = unlimited; read, not ignored
  assert.is(loadText('[DEFAULT]\nimage_member_quota = -1\n').config!.imageMemberQuota, -1);
  assert.is(loadText('[DEFAULT]\nimage_member_quota = 5\n').config!.imageMemberQuota, 5);
  assert.equal(options(errors(loadText('[DEFAULT]\nimage_member_quota = many\n'))), ['DEFAULT.image_member_quota']);
});

test('lists: brackets optional, items trimmed and unquoted', () => {
  assert.equal(loadText('[DEFAULT]\nenabled_import_methods = glance-direct , copy-image\n').config!.enabledImportMethods, ['glance-direct', 'copy-image']);
  assert.equal(loadText('[DEFAULT]\nenabled_import_methods = ["web-download", \'copy-image\']\n').config!.enabledImportMethods, ['web-download', 'copy-image']);
  assert.equal(loadText('[DEFAULT]\nenabled_import_methods = []\n').config!.enabledImportMethods, []);
  const r = loadText('[DEFAULT]\nenabled_import_methods = [glance-direct, teleport]\n');
  assert.match(find(r, 'DEFAULT.enabled_import_methods')!.message, 'unknown import method "teleport"');
  assert.is(find(r, 'DEFAULT.enabled_import_methods')!.level, 'warning');
});

test('bind_host: an IP address or a host name', () => {
  assert.is(loadText('[DEFAULT]\nbind_host = ::\n').config!.bindHost, '::');
  assert.is(loadText('[DEFAULT]\nbind_host = node-1.example.org\n').config!.bindHost, 'node-1.example.org');
  assert.match(find(loadText('[DEFAULT]\nbind_host = not a host!\n'), 'DEFAULT.bind_host')!.message, 'expected an IP address or a host name');
  assert.ok(find(loadText('[DEFAULT]\nbind_host =\n'), 'DEFAULT.bind_host'));
});

test('hashing_algorithm: any node hash', () => {
  assert.is(loadText('[DEFAULT]\nhashing_algorithm = sha3-512\n').config!.hashingAlgorithm, 'sha3-512');
});

test('auth: noauth unless glance asks for keystone; an explicit [imaged] auth_strategy wins', () => {
  const msg = (r: ReturnType<typeof loadText>, o: string) => find(r, o)?.message ?? '';
  assert.is(loadText('[DEFAULT]\n').config!.imaged.auth, 'noauth');
  for (const flavor of ['', 'caching', 'cachemanagement']) {
    const r = loadText(`[paste_deploy]\nflavor = ${flavor}\n`);
    assert.equal(r.problems, [], flavor);
    assert.is(r.config!.imaged.auth, 'noauth');
    assert.is(r.config!.keystone, null);
  }
  // keystone without [keystone_authtoken]: errors naming what is missing
  assert.match(msg(loadText('[DEFAULT]\nauth_strategy = keystone\n'), 'keystone_authtoken.auth_url'), 'missing');
  assert.match(msg(loadText('[imaged]\nauth_strategy = keystone\n'), 'keystone_authtoken.password'), 'missing');
  assert.match(msg(loadText('[paste_deploy]\nflavor = keystone+cachemanagement\n'), 'keystone_authtoken.username'), 'missing');
  assert.match(msg(loadText('[imaged]\nauth_strategy = ldap\n'), 'imaged.auth_strategy'), 'invalid value "ldap"');
  assert.equal(loadText('[DEFAULT]\nauth_strategy = noauth\n').problems, []);
  // an explicit [imaged] choice overrides what the glance config implies
  const r = loadText('[DEFAULT]\nauth_strategy = keystone\n[paste_deploy]\nflavor = keystone\n[imaged]\nauth_strategy = noauth\n');
  assert.equal(r.problems, []);
  assert.is(r.config!.imaged.auth, 'noauth');
});

test('[imaged] send_threads: auto (default), a count, 0; anything else names the option', () => {
  assert.is(loadText('[DEFAULT]\n').config!.imaged.sendThreads, null);
  assert.is(loadText('[imaged]\nsend_threads = auto\n').config!.imaged.sendThreads, null);
  assert.is(loadText('[imaged]\nsend_threads = 3\n').config!.imaged.sendThreads, 3);
  assert.is(loadText('[imaged]\nsend_threads = 0\n').config!.imaged.sendThreads, 0);
  for (const bad of ['two', '-1', '17', '1.5']) {
    const r = loadText(`[imaged]\nsend_threads = ${bad}\n`);
    assert.not.ok(r.config, bad);
    assert.match(JSON.stringify(errors(r)), /send_threads/);
  }
});

test('[imaged] tcp_nopush: on by default, a boolean; anything else names the option', () => {
  assert.is(loadText('[DEFAULT]\n').config!.imaged.tcpNopush, true);
  assert.is(loadText('[imaged]\ntcp_nopush = false\n').config!.imaged.tcpNopush, false);
  assert.is(loadText('[imaged]\ntcp_nopush = True\n').config!.imaged.tcpNopush, true);
  const r = loadText('[imaged]\ntcp_nopush = sometimes\n');
  assert.not.ok(r.config);
  assert.match(JSON.stringify(errors(r)), /tcp_nopush/);
});

test('log level: explicit [imaged] log_level beats [DEFAULT] debug', () => {
  assert.is(loadText('[DEFAULT]\ndebug = True\n[imaged]\nlog_level = error\n').config!.imaged.logLevel, 'error');
  assert.is(loadText('[DEFAULT]\ndebug = false\n').config!.imaged.logLevel, 'info');
});

test('unknown options warn only in sections imaged interprets', () => {
  const r = loadConfig({ configFiles: [fixture('unknown-options.conf')], configDirs: [] });
  assert.ok(r.config, 'warnings do not block loading');
  assert.equal(errors(r), []);
  assert.equal(options(warnings(r)), ['DEFAULT.frobnicate', 'DEFAULT.default_backend', 'glance_store.bogus_option', 'imaged.nope']);
  assert.match(find(r, 'DEFAULT.default_backend')!.message, 'belongs in [glance_store]');
  assert.is(find(r, 'imaged.nope')!.source, `${fixture('unknown-options.conf')}:15`);
});

test('state_dir must not be a store datadir', () => {
  const r = loadText('[glance_store]\nfilesystem_store_datadir = /srv/x\n[imaged]\nstate_dir = /srv/x/\n');
  assert.match(find(r, 'imaged.state_dir')!.message, 'also a store');
});

test('cache and edge options: defaults, glance names, edge default cache dir, bad upstream', () => {
  const plain = loadText('[glance_store]\ndefault_store = file\nfilesystem_store_datadir = /srv/i\n');
  assert.is(plain.config!.cache.dir, null);
  assert.is(plain.config!.cache.maxSize, 10737418240);
  assert.is(plain.config!.cache.stallTime, 86400);
  const c = loadText('[DEFAULT]\nimage_cache_dir = /srv/cache\nimage_cache_max_size = 1000\nimage_cache_stall_time = 30\n[imaged]\nstate_dir = /srv/st\ncache_prefetch_workers = 3\n');
  assert.equal(c.config!.cache, { dir: '/srv/cache', maxSize: 1000, hardMaxSize: 1500, stallTime: 30, prefetchWorkers: 3 });
  const edge = loadText('[imaged]\nstate_dir = /srv/st\nupstream = http://glance:9292/\n');
  assert.is(edge.config!.imaged.upstream, 'http://glance:9292');
  assert.is(edge.config!.cache.dir, '/srv/st/cache');
  const bad = loadText('[imaged]\nupstream = ftp://x\n');
  assert.is(bad.config, undefined);
  assert.ok(bad.problems.some((p) => p.option === 'imaged.upstream'));
  const hard = loadText('[DEFAULT]\nimage_cache_max_size = 1000\n[imaged]\ncache_hard_max_size = 10\n');
  assert.ok(hard.problems.some((p) => p.option === 'imaged.cache_hard_max_size'));
});

test('inline comments: oslo.config keeps them in the value; the error (or a warning) says so', () => {
  // the README's old single-store and edge examples, pasted as they were
  const single = loadText('[glance_store]\ndefault_backend = file            # or the legacy default_store\nfilesystem_store_datadir = /mnt/glance_images/\n');
  assert.is(find(single, 'glance_store.default_backend')!.message,
    'unknown store type "file            # or the legacy default_store"; glance store types are file, http, rbd, swift, s3, vmware, cinder (oslo.config does not strip inline comments: put the comment on its own line)');
  const edge = loadText('[imaged]\nupstream = http://glance-api:9292            # edge mode\n');
  assert.match(find(edge, 'imaged.upstream')!.message, /^invalid value .*\(oslo\.config does not strip inline comments: put the comment on its own line\)$/);
  // accepted by its type, so only a warning: the comment becomes part of the project id
  const quiet = loadText('[imaged]\nnoauth_project_id = admin   # the project\nnoauth_user_id = u#1\n[glance_store]\nswift_store_key = a #b\n');
  assert.equal(quiet.problems.map((p) => [p.level, p.option, p.message]), [
    ['warning', 'imaged.noauth_project_id', 'value "admin   # the project" contains " #"; it is taken as part of the value (oslo.config does not strip inline comments: put the comment on its own line)'],
  ]);
  assert.is(quiet.config!.imaged.noauthProject, 'admin   # the project');
});

test.run();
