import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { checkStoreDirs, embeddedDefaultConfig, type Config } from '../../src/config/index.js';
import { loadText, tmpDir } from './helpers.js';

const euid = process.geteuid!();
const egid = process.getegid!();
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** embedded default under a fresh temp dir: datadir <base>/var/images, state <base>/var/state */
function fresh(): { base: string; config: Config } {
  const base = tmpDir();
  return { base, config: embeddedDefaultConfig(base) };
}

test('missing dirs: errors name the path and the mkdir+chown fix', () => {
  const { base, config } = fresh();
  config.imaged.serviceUid = 42424;
  config.imaged.serviceGid = 42425;
  const ps = checkStoreDirs(config);
  const images = path.join(base, 'var/images');
  assert.equal(
    ps.map((p) => [p.level, p.option, p.message]),
    [
      ['error', 'glance_store.filesystem_store_datadir', `filesystem_store_datadir ${images} does not exist: run sudo mkdir -p ${images} && sudo chown 42424:42425 ${images}`],
      ['error', 'imaged.state_dir', `state_dir ${path.join(base, 'var/state')} does not exist: run sudo mkdir -p ${path.join(base, 'var/state')} && sudo chown 42424:42425 ${path.join(base, 'var/state')}`],
    ],
  );
  assert.not.ok(fs.existsSync(images), 'nothing is created without create');
});

test('create: makes the dirs (owned by the service user) and then passes', () => {
  const { base, config } = fresh();
  assert.equal(checkStoreDirs(config, { create: true }), []);
  const st = fs.statSync(path.join(base, 'var/images'));
  assert.ok(st.isDirectory());
  assert.is(st.uid, euid);
  assert.is(st.mode & 0o777, 0o750 & ~process.umask());
  assert.equal(checkStoreDirs(config), []);
});

test('create as root hands the new dirs to the service uid/gid', () => {
  if (euid !== 0) return; // only root can chown
  const { base, config } = fresh();
  config.imaged.serviceUid = 4242;
  config.imaged.serviceGid = 4243;
  const made = checkStoreDirs(config, { create: true });
  assert.equal(made.map((p) => p.message), [
    `filesystem_store_datadir ${base}/var/images cannot be reached by the service uid 4242: ${base} is not searchable by it; run sudo chmod o+x ${base}`,
    `state_dir ${base}/var/state cannot be reached by the service uid 4242: ${base} is not searchable by it; run sudo chmod o+x ${base}`,
  ], 'the check is made for the service uid: it cannot pass through the 0700 temp dir');
  fs.chmodSync(base, 0o755);
  assert.equal(checkStoreDirs(config), []);
  for (const p of ['var', 'var/state', 'var/images']) {
    const st = fs.statSync(path.join(base, p));
    assert.equal([st.uid, st.gid], [4242, 4243], p);
  }
});

test('not a directory', () => {
  const { base, config } = fresh();
  fs.mkdirSync(path.join(base, 'var/state'), { recursive: true });
  fs.writeFileSync(path.join(base, 'var/images'), '');
  const ps = checkStoreDirs(config);
  assert.is(ps.length, 1);
  assert.match(ps[0].message, `filesystem_store_datadir ${path.join(base, 'var/images')} is not a directory`);
});

test('owned by another uid: error with the chown fix', () => {
  const { base, config } = fresh();
  checkStoreDirs(config, { create: true });
  config.imaged.serviceUid = euid + 1;
  config.imaged.serviceGid = egid + 1;
  const images = path.join(base, 'var/images');
  const ps = checkStoreDirs(config);
  assert.equal(ps.map((p) => p.option), ['glance_store.filesystem_store_datadir', 'imaged.state_dir']);
  assert.is(
    ps[0].message,
    `filesystem_store_datadir ${images} is owned by uid ${euid}, not the service uid ${euid + 1}: run sudo chown ${euid + 1}:${egid + 1} ${images}`,
  );
});

test('not writable by this process', () => {
  const { base, config } = fresh();
  const images = path.join(base, 'var/images');
  if (euid !== 0) {
    checkStoreDirs(config, { create: true });
    fs.chmodSync(images, 0o500);
    const ps = checkStoreDirs(config);
    fs.chmodSync(images, 0o700);
    assert.match(ps[0].message, `filesystem_store_datadir ${images} is not writable by the service uid ${euid}: run sudo chmod u+rwx ${images}`);
    return;
  }
  // root may write anywhere: run the check as nobody on dirs nobody owns
  const nobody = 65534;
  fs.chmodSync(base, 0o755);
  fs.mkdirSync(path.join(base, 'var/state'), { recursive: true });
  fs.mkdirSync(images, { mode: 0o500 });
  for (const p of ['var', 'var/state', 'var/images']) fs.chownSync(path.join(base, p), nobody, nobody);
  const script = path.join(base, 'check.ts');
  fs.writeFileSync(
    script,
    `import { checkStoreDirs, embeddedDefaultConfig } from ${JSON.stringify(path.join(repo, 'src/config/index.ts'))};\n` +
      `console.log(JSON.stringify(checkStoreDirs(embeddedDefaultConfig(${JSON.stringify(base)}))));\n`,
  );
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], { uid: nobody, gid: nobody, cwd: repo, encoding: 'utf8' });
  assert.is(child.status, 0, child.stderr);
  const ps = JSON.parse(child.stdout);
  assert.is(ps.length, 1);
  assert.is(ps[0].message, `filesystem_store_datadir ${images} is not writable by the service uid ${nobody}: run sudo chmod u+rwx ${images}`);
});

test('file_perm sharing with group/other: warn when the datadir lacks the traverse bit', () => {
  const { base, config } = fresh();
  checkStoreDirs(config, { create: true });
  const images = path.join(base, 'var/images');
  fs.chmodSync(images, 0o700);
  config.stores[0].filePerm = 0o640;
  const ps = checkStoreDirs(config);
  assert.equal(ps.map((p) => [p.level, p.option]), [['warning', 'glance_store.filesystem_store_datadir']]);
  assert.match(ps[0].message, `lacks g+x`);
  assert.match(ps[0].message, `run sudo chmod g+x ${images}`);
  config.stores[0].filePerm = 0o644;
  assert.match(checkStoreDirs(config)[0].message, 'lacks go+x, so the group and other users');
  fs.chmodSync(images, 0o755);
  assert.equal(checkStoreDirs(config), []);
});

test('multi-store: each datadir checked under its backend option name', () => {
  const base = tmpDir();
  const r = loadText(
    `[DEFAULT]\nenabled_backends = fast:file, slow:file\n[glance_store]\ndefault_backend = fast\n` +
      `[fast]\nfilesystem_store_datadir = ${base}/fast\n[slow]\nfilesystem_store_datadir = ${base}/slow\n` +
      `[imaged]\nstate_dir = ${base}/state\nservice_uid = ${euid}\nservice_gid = ${egid}\n`,
  );
  const ps = checkStoreDirs(r.config!);
  assert.equal(ps.map((p) => p.option), ['fast.filesystem_store_datadir', 'slow.filesystem_store_datadir', 'imaged.state_dir']);
  assert.equal(checkStoreDirs(r.config!, { create: true }), []);
  assert.ok(fs.statSync(`${base}/slow`).isDirectory());
});

const SVC = 42424; // the unit's uid; numeric, no user is created

/** embedded default under a 0755 temp dir with its dirs made and owned by `uid` */
function owned(uid: number): { base: string; config: Config } {
  const { base, config } = fresh();
  fs.chmodSync(base, 0o755);
  config.imaged.serviceUid = uid;
  config.imaged.serviceGid = uid;
  for (const p of ['var', 'var/images', 'var/state']) {
    fs.mkdirSync(path.join(base, p), { recursive: true, mode: 0o750 });
    fs.chownSync(path.join(base, p), uid, uid);
  }
  return { base, config };
}

test('checked for the service uid, not the caller: run as root, a 0500 datadir of uid 42424 fails', () => {
  if (euid !== 0) return;
  const { base, config } = owned(SVC);
  assert.equal(checkStoreDirs(config), []);
  const images = path.join(base, 'var/images');
  fs.chmodSync(images, 0o500);
  assert.equal(checkStoreDirs(config).map((p) => p.message), [
    `filesystem_store_datadir ${images} is not writable by the service uid ${SVC} (mode 500): run sudo chmod u+rwx ${images}`,
  ]);
  fs.chmodSync(images, 0o750);
  fs.chmodSync(path.join(base, 'var'), 0o700); // owned by 42424: still searchable by it
  assert.equal(checkStoreDirs(config), []);
  fs.chownSync(path.join(base, 'var'), 0, 0);
  assert.match(checkStoreDirs(config)[0].message, `cannot be reached by the service uid ${SVC}: ${base}/var is not searchable by it`);
});

test('what is inside state_dir must be the service uid\'s too (a root-owned catalog would stop the unit)', () => {
  if (euid !== 0) return;
  const { base, config } = owned(SVC);
  const state = path.join(base, 'var/state');
  fs.mkdirSync(path.join(state, 'catalog'));
  fs.chownSync(path.join(state, 'catalog'), SVC, SVC);
  fs.writeFileSync(path.join(state, 'catalog/data.mdb'), ''); // root's, as after a start as root
  assert.equal(checkStoreDirs(config).map((p) => [p.option, p.message]), [
    ['imaged.state_dir', `state_dir ${state} holds ${state}/catalog/data.mdb, owned by uid 0, not the service uid ${SVC} (was imaged started as another user?): run sudo chown -R ${SVC}:${SVC} ${state}`],
  ]);
  fs.chownSync(path.join(state, 'catalog/data.mdb'), SVC, SVC);
  assert.equal(checkStoreDirs(config), []);
});

test('image_cache_dir is checked like a datadir: missing, not a dir, foreign owner, foreign contents', () => {
  const { base, config } = fresh();
  checkStoreDirs(config, { create: true });
  const cache = path.join(base, 'cache');
  config.cache.dir = cache;
  assert.equal(checkStoreDirs(config).map((p) => [p.option, p.message]), [
    ['DEFAULT.image_cache_dir', `image_cache_dir ${cache} does not exist: run sudo mkdir -p ${cache} && sudo chown ${euid}:${egid} ${cache}`],
  ]);
  fs.writeFileSync(cache, '');
  assert.match(checkStoreDirs(config)[0].message, `image_cache_dir ${cache} is not a directory`);
  fs.rmSync(cache);
  fs.mkdirSync(cache);
  assert.equal(checkStoreDirs(config), []);
  config.imaged.serviceUid = euid + 1;
  assert.ok(checkStoreDirs(config).some((p) => p.option === 'DEFAULT.image_cache_dir' && p.message.includes(`is owned by uid ${euid}, not the service uid ${euid + 1}`)));
  if (euid === 0) {
    config.imaged.serviceUid = 0;
    fs.writeFileSync(path.join(cache, 'entry'), '');
    fs.chownSync(path.join(cache, 'entry'), SVC, SVC);
    assert.match(checkStoreDirs(config)[0].message, `image_cache_dir ${cache} holds ${cache}/entry, owned by uid ${SVC}`);
  }
});

test('an inline comment in image_cache_dir: the error says oslo.config keeps it', () => {
  const base = tmpDir();
  fs.mkdirSync(`${base}/state`);
  const r = loadText(`[DEFAULT]\nimage_cache_dir = ${base}/cache      # the cache is on when set\n[imaged]\nstate_dir = ${base}/state\nservice_uid = ${euid}\nservice_gid = ${egid}\n`);
  const ps = checkStoreDirs(r.config!).filter((p) => p.option === 'DEFAULT.image_cache_dir');
  assert.is(ps.length, 1);
  assert.is(ps[0].message, `image_cache_dir ${base}/cache      # the cache is on when set does not exist: run sudo mkdir -p ${base}/cache      # the cache is on when set && sudo chown ${euid}:${egid} ${base}/cache      # the cache is on when set (oslo.config does not strip inline comments: put the comment on its own line)`);
});

test('edge mode does not check (or need) the file store datadir', () => {
  const { base, config } = fresh();
  fs.mkdirSync(path.join(base, 'var/state'), { recursive: true });
  config.imaged.upstream = 'http://glance-api:9292';
  config.cache.dir = path.join(config.imaged.stateDir, 'cache'); // the edge default, made by the daemon
  assert.equal(checkStoreDirs(config), []);
  assert.not.ok(fs.existsSync(path.join(base, 'var/images')));
  config.imaged.upstream = null;
  assert.equal(checkStoreDirs(config).map((p) => p.option), ['glance_store.filesystem_store_datadir']);
});

test('missingOk (check-config of the embedded default): creates nothing and reports nothing', () => {
  const { base, config } = fresh();
  assert.equal(checkStoreDirs(config, { missingOk: true }), []);
  assert.equal(fs.readdirSync(base), []);
});

test.run();
