import fs from 'node:fs';
import path from 'node:path';
import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { checkStoreDirs, embeddedDefaultConfig, formatEffectiveConfig, formatProblem, loadConfig, type Config } from '../../src/config/index.js';
import { fixture, loadText, tmpDir } from './helpers.js';

/** the parts of a Config that must survive format → load (the policy search path follows the files' places, like sources) */
function comparable(c: Config) {
  const { sources: _s, embeddedDefault: _e, stores, policy: { configDirs: _d, ...policy }, ...rest } = c;
  return { ...rest, policy, stores: stores.map(({ options: _o, ...s }) => s) };
}

function roundTrip(c: Config): Config {
  const file = path.join(tmpDir(), 'effective.conf');
  fs.writeFileSync(file, formatEffectiveConfig(c));
  const r = loadConfig({ configFiles: [file], configDirs: [] });
  assert.equal(r.problems, [], formatEffectiveConfig(c));
  return r.config!;
}

for (const files of [['single-store.conf'], ['multi-store.conf'], ['glance-api-multi.conf', 'glance-api-noauthowner.conf'], ['legacy-default-store.conf']]) {
  test(`effective config of ${files.join(' + ')} loads back to the same config`, () => {
    const c = loadConfig({ configFiles: files.map((f) => fixture(f)), configDirs: [] }).config!;
    assert.equal(comparable(roundTrip(c)), comparable(c));
  });
}

test('embedded default round-trips too, and says where it came from', () => {
  const c = embeddedDefaultConfig('/opt/imaged');
  const text = formatEffectiveConfig(c);
  assert.match(text, '# sources: embedded default (no config file): data under /opt/imaged/var, from the current directory; created at start\n');
  assert.equal(comparable(roundTrip(c)), comparable(c));
});

test('awkward values are quoted or continued so they read back exactly', () => {
  const r = loadText(
    '[DEFAULT]\nenabled_backends = a:file\n[glance_store]\ndefault_backend = a\n' +
      '[a]\nfilesystem_store_datadir = /srv/a\nstore_description = " padded "\n',
    '[a]\nstore_description = "\'single\'"\n',
  );
  assert.is(r.config!.stores[0].description, "'single'");
  assert.is(roundTrip(r.config!).stores[0].description, "'single'");
  const multiLine = loadText('[DEFAULT]\nenabled_backends = a:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = /srv/a\nstore_description = line one\n  line two\n');
  assert.is(roundTrip(multiLine.config!).stores[0].description, 'line one\nline two');
  const padded = loadText('[DEFAULT]\nenabled_backends = a:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = /srv/a\nstore_description = " padded "\n');
  assert.is(roundTrip(padded.config!).stores[0].description, ' padded ');
});

test('dump shape: glance sections, perm in glance notation, multi-store ids', () => {
  const single = formatEffectiveConfig(loadConfig({ configFiles: [fixture('single-store.conf')], configDirs: [] }).config!);
  assert.match(single, '[glance_store]\ndefault_store = file\nfilesystem_store_datadir = /mnt/glance_images\nfilesystem_store_file_perm = 640\n');
  assert.match(single, 'enabled_import_methods = [glance-direct,web-download]\n');
  assert.match(single, `# sources (later wins): ${fixture('single-store.conf')}`);
  const multi = formatEffectiveConfig(loadConfig({ configFiles: [fixture('multi-store.conf')], configDirs: [] }).config!);
  assert.match(multi, 'enabled_backends = fast:file, local:file\n');
  assert.match(multi, '[glance_store]\ndefault_backend = local\n');
  assert.match(multi, '[fast]\nstore_description = NVMe pool\nweight = 100\n');
  assert.match(multi, '[imaged]\nstate_dir = /var/lib/imaged\n');
});

test('embeddedDefaultConfig: everything under the base dir, owned by whoever runs it', () => {
  const base = tmpDir();
  const c = embeddedDefaultConfig(base);
  assert.is(c.embeddedDefault, true);
  assert.is(c.stores.length, 1);
  assert.is(c.stores[0].id, 'file');
  assert.is(c.stores[0].datadir, path.join(base, 'var/images'));
  assert.is(c.imaged.stateDir, path.join(base, 'var/state'));
  assert.is(c.imaged.serviceUid, process.geteuid!());
  assert.is(c.imaged.serviceGid, process.getegid!());
  assert.is(c.defaultStore, 'file');
  assert.equal(checkStoreDirs(c, { create: true }), []);
  const cwd = embeddedDefaultConfig();
  assert.is(cwd.stores[0].datadir, path.join(process.cwd(), 'var/images'));
});

test('formatProblem: level, option, message, source', () => {
  const r = loadText('[DEFAULT]\nbind_port = abc\n');
  assert.match(formatProblem(r.problems[0]), /^error: DEFAULT\.bind_port: invalid value "abc": expected an integer \(.*0\.conf:2\)$/);
  assert.is(formatProblem({ level: 'warning', option: 'x.y', message: 'm' }), 'warning: x.y: m');
});

test.run();
