import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { errors, find, loadText, options, warnings } from './helpers.js';

// glance_store's swift driver options ([glance_store] single-store, or a backend's own section).

const MiB = 1024 * 1024;
const msg = (r: ReturnType<typeof loadText>, option: string) => find(r, option)?.message ?? `(no problem for ${option})`;
const multi = (swiftSection: string) =>
  loadText(`[DEFAULT]\nenabled_backends = objects:swift, local:file\n[glance_store]\ndefault_backend = objects\n[local]\nfilesystem_store_datadir = /srv/local\n[objects]\n${swiftSection}`);

test('single-store default_store = swift: the store is the default, with glance defaults', () => {
  const r = loadText('[glance_store]\ndefault_store = swift\nswift_store_auth_address = http://127.0.0.1:8088/auth/v1.0\nswift_store_user = glance:glance\nswift_store_key = secret\n');
  assert.equal(r.problems, []);
  const c = r.config!;
  assert.is(c.multiStore, false);
  assert.is(c.defaultStore, 'swift');
  assert.is(c.stores.length, 1);
  assert.is(c.stores[0].type, 'swift');
  assert.is(c.stores[0].isDefault, true);
  assert.equal(c.stores[0].swift, {
    authAddress: 'http://127.0.0.1:8088/auth/v1.0', user: 'glance:glance', key: 'secret',
    authVersion: '2', // glance_store's default
    container: 'glance', createContainerOnPut: false,
    largeObjectSize: 5120 * MiB, largeObjectChunkSize: 200 * MiB, // MiB in the file, bytes here
    configFile: null, reference: 'ref1', region: '', endpointType: 'publicURL', serviceType: 'object-store',
    insecure: false, retryGetCount: 0,
  });
});

test('multi-store: every swift option is read from the backend section', () => {
  const r = multi(
    'store_description = Swift\nweight = 7\nswift_store_auth_address = https://keystone:5000/v3\nswift_store_user = service:glance\nswift_store_key = k\n' +
      'swift_store_auth_version = 3\nswift_store_container = images\nswift_store_create_container_on_put = True\n' +
      'swift_store_large_object_size = 2\nswift_store_large_object_chunk_size = 1\nswift_store_region = RegionTwo\n' +
      'swift_store_endpoint_type = internalURL\nswift_store_service_type = swift\nswift_store_auth_insecure = true\nswift_store_retry_get_count = 3\n',
  );
  assert.equal(r.problems, []);
  const s = r.config!.stores.find((x) => x.id === 'objects')!;
  assert.is(r.config!.defaultStore, 'objects');
  assert.is(s.isDefault, true);
  assert.is(s.description, 'Swift');
  assert.is(s.weight, 7);
  assert.equal(s.swift, {
    authAddress: 'https://keystone:5000/v3', user: 'service:glance', key: 'k', authVersion: '3',
    container: 'images', createContainerOnPut: true, largeObjectSize: 2 * MiB, largeObjectChunkSize: 1 * MiB,
    configFile: null, reference: 'ref1', region: 'RegionTwo', endpointType: 'internalURL', serviceType: 'swift',
    insecure: true, retryGetCount: 3,
  });
  assert.is(r.config!.stores.find((x) => x.id === 'local')!.swift, undefined);
});

test('swift_store_config_file + default_swift_reference replace the auth address (path made absolute)', () => {
  const r = multi('swift_store_config_file = /etc/glance/glance-swift.conf\ndefault_swift_reference = store2\n');
  assert.equal(errors(r), []);
  const sw = r.config!.stores[0].swift!;
  assert.is(sw.configFile, '/etc/glance/glance-swift.conf');
  assert.is(sw.reference, 'store2');
  assert.is(sw.authAddress, '');
  const rel = multi('swift_store_config_file = glance-swift.conf\n');
  assert.is(rel.config!.stores[0].swift!.configFile, `${process.cwd()}/glance-swift.conf`);
  assert.is(rel.config!.stores[0].swift!.reference, 'ref1');
});

test('errors: no auth address and no config file; bad auth version; chunk larger than the large-object size', () => {
  const none = multi('swift_store_user = a:b\nswift_store_key = k\n');
  assert.is(none.config, undefined);
  assert.equal(options(errors(none)), ['objects.swift_store_auth_address']);
  assert.match(msg(none, 'objects.swift_store_auth_address'), 'is required for a swift store (or set swift_store_config_file');
  const single = loadText('[glance_store]\ndefault_store = swift\n');
  assert.equal(options(errors(single)), ['glance_store.swift_store_auth_address']);

  const ver = multi('swift_store_auth_address = http://x/auth/v1.0\nswift_store_auth_version = 4\n');
  assert.is(ver.config, undefined);
  assert.match(msg(ver, 'objects.swift_store_auth_version'), 'invalid value "4": expected 1 (tempauth), 2 or 3 (Keystone)');

  const chunk = multi('swift_store_auth_address = http://x/auth/v1.0\nswift_store_large_object_size = 10\nswift_store_large_object_chunk_size = 20\n');
  assert.match(msg(chunk, 'objects.swift_store_large_object_chunk_size'), 'must not exceed swift_store_large_object_size');

  const notInt = multi('swift_store_auth_address = http://x/auth/v1.0\nswift_store_large_object_size = big\n');
  assert.ok(find(notInt, 'objects.swift_store_large_object_size'), 'a non-integer size is reported');
  assert.is(notInt.config, undefined);
});

test('glance swift options imaged does not use are accepted without warnings; unknown ones warn', () => {
  const r = multi('swift_store_auth_address = http://x/auth/v1.0\nswift_store_multi_tenant = False\nswift_buffer_on_upload = False\nswift_store_cacert = /etc/ssl/ca.pem\nswift_store_nonsense = 1\n');
  assert.equal(errors(r), []);
  assert.equal(options(warnings(r)), ['objects.swift_store_nonsense']);
});

test.run();
