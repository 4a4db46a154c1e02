import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { errors, find, loadText, options, warnings } from './helpers.js';

const MiB = 1024 * 1024;
const KEYS = 's3_store_host = 10.0.0.5:7480\ns3_store_access_key = AKIA0\ns3_store_secret_key = se/cr+et\ns3_store_bucket = glance\n';
const single = (rest = '') => loadText(`[glance_store]\ndefault_store = s3\n${KEYS}${rest}`);
const multi = (rest: string) =>
  loadText(`[DEFAULT]\nenabled_backends = objects:s3, local:file\n[glance_store]\ndefault_backend = objects\n[local]\nfilesystem_store_datadir = /srv/l\n${rest}`);
const msg = (r: ReturnType<typeof loadText>, option: string) => find(r, option)?.message ?? `(no problem for ${option})`;

test('s3 single-store: [glance_store] options with glance defaults; a bare host means http', () => {
  const r = single();
  assert.equal(r.problems, []);
  const s = r.config!.stores[0];
  assert.is(s.id, 's3');
  assert.is(s.type, 's3');
  assert.is(s.isDefault, true);
  assert.equal(s.s3, {
    host: 'http://10.0.0.5:7480', accessKey: 'AKIA0', secretKey: 'se/cr+et', bucket: 'glance', createBucketOnPut: false,
    urlFormat: 'auto', largeObjectSize: 100 * MiB, largeObjectChunkSize: 10 * MiB, threadPools: 10, region: '',
  });
  // legacy default_store and the newer default_backend spelling both pick it
  assert.is(loadText(`[glance_store]\ndefault_backend = s3\n${KEYS}`).config!.stores[0].s3!.bucket, 'glance');
});

test('s3 single-store: every option read, sizes in MiB become bytes, https kept, trailing slash dropped', () => {
  const r = loadText(
    '[glance_store]\ndefault_store = s3\ns3_store_host = https://s3.example.com/\ns3_store_access_key = a\ns3_store_secret_key = b\n' +
      's3_store_bucket = images\ns3_store_create_bucket_on_put = true\ns3_store_bucket_url_format = virtual\n' +
      's3_store_large_object_size = 200\ns3_store_large_object_chunk_size = 20\ns3_store_thread_pools = 4\ns3_store_region_name = eu-1\n' +
      's3_store_cacert = /etc/ssl/ca.pem\n',
  );
  assert.equal(r.problems, []);
  assert.equal(r.config!.stores[0].s3, {
    host: 'https://s3.example.com', accessKey: 'a', secretKey: 'b', bucket: 'images', createBucketOnPut: true,
    urlFormat: 'virtual', largeObjectSize: 200 * MiB, largeObjectChunkSize: 20 * MiB, threadPools: 4, region: 'eu-1',
  });
});

test('s3 multi-store: options in the backend section; default backend; file store beside it', () => {
  const r = multi(`[objects]\nstore_description = RGW\nweight = 3\n${KEYS}s3_store_large_object_size = 6\ns3_store_large_object_chunk_size = 5\n`);
  assert.equal(errors(r), []);
  assert.equal(warnings(r), []);
  assert.is(r.config!.multiStore, true);
  assert.is(r.config!.defaultStore, 'objects');
  const s = r.config!.stores.find((x) => x.id === 'objects')!;
  assert.is(s.type, 's3');
  assert.is(s.description, 'RGW');
  assert.is(s.weight, 3);
  assert.is(s.isDefault, true);
  assert.is(s.s3!.host, 'http://10.0.0.5:7480');
  assert.is(s.s3!.largeObjectSize, 6 * MiB);
  assert.is(s.s3!.largeObjectChunkSize, 5 * MiB);
  assert.is(r.config!.stores.find((x) => x.id === 'local')!.isDefault, false);
});

test('s3: host, keys and bucket are required', () => {
  const r = loadText('[glance_store]\ndefault_store = s3\n');
  assert.is(r.config, undefined);
  assert.equal(options(errors(r)).sort(), [
    'glance_store.s3_store_access_key', 'glance_store.s3_store_bucket', 'glance_store.s3_store_host', 'glance_store.s3_store_secret_key',
  ]);
  assert.match(msg(r, 'glance_store.s3_store_bucket'), 'is required for an s3 store');
  const m = multi('[objects]\ns3_store_host = h\ns3_store_access_key = a\ns3_store_secret_key =  \n');
  assert.equal(options(errors(m)).sort(), ['objects.s3_store_bucket', 'objects.s3_store_secret_key']);
});

test('s3: chunk size at least 5 MiB and not above large_object_size; url format and thread pools checked', () => {
  const big = single('s3_store_large_object_size = 8\ns3_store_large_object_chunk_size = 16\n');
  assert.equal(options(errors(big)), ['glance_store.s3_store_large_object_chunk_size']);
  assert.match(msg(big, 'glance_store.s3_store_large_object_chunk_size'), 'must not exceed s3_store_large_object_size');
  assert.match(msg(single('s3_store_large_object_chunk_size = 4\n'), 'glance_store.s3_store_large_object_chunk_size'), 'at least 5');
  assert.match(msg(single('s3_store_bucket_url_format = dns\n'), 'glance_store.s3_store_bucket_url_format'), 'auto, path, virtual');
  assert.match(msg(single('s3_store_thread_pools = 0\n'), 'glance_store.s3_store_thread_pools'), 'between 1 and 64');
  const m = multi(`[objects]\n${KEYS}s3_store_large_object_size = 5\ns3_store_large_object_chunk_size = 6\n`);
  assert.equal(options(errors(m)), ['objects.s3_store_large_object_chunk_size']);
});

test('s3 multi-store: options of other drivers in the section warn', () => {
  const r = multi(`[objects]\n${KEYS}rbd_store_pool = images\n`);
  assert.equal(errors(r), []);
  assert.equal(options(warnings(r)), ['objects.rbd_store_pool']);
});

test.run();
