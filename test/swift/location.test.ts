import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatSwiftConfigUrl, formatSwiftCredentialUrl, parseSwiftUrl, redactSwiftUrl } from '../../src/stores/swift-location.js';
import { pickReference, swiftReferences } from '../../src/stores/swift-refs.js';
import type { SwiftStoreConfig } from '../../src/config/index.js';

// Location URLs and account references exactly as glance_store writes and reads them (no Swift needed).

const ID = '6f1d5b4e-9d4b-4c36-9d8e-0a4c2b1f7e11';

test('credential URLs: user and key quoted like urllib.parse.quote, scheme from the auth address', () => {
  assert.is(
    formatSwiftCredentialUrl('http://127.0.0.1:8088/auth/v1.0', 'glance:glance', 's3cr@t/x', 'glance', ID),
    `swift+http://glance%3Aglance:s3cr%40t%2Fx@127.0.0.1:8088/auth/v1.0/glance/${ID}`,
  );
  assert.is(formatSwiftCredentialUrl('https://keystone:5000/v3/', 'service:glance', "a!b'c", 'images', ID), `swift+https://service%3Aglance:a%21b%27c@keystone:5000/v3/images/${ID}`);
  assert.is(formatSwiftConfigUrl('ref1', '/glance/', ID), `swift+config://ref1/glance/${ID}`);
});

test('parse: credential URLs (quoted and glance-era raw "account:user:key"), config references, https default', () => {
  const url = formatSwiftCredentialUrl('http://127.0.0.1:8088/auth/v1.0', 'glance:glance', 'k:ey@1/x', 'glance', ID);
  assert.equal(parseSwiftUrl(url), {
    reference: null, authAddress: 'http://127.0.0.1:8088/auth/v1.0', user: 'glance:glance', key: 'k:ey@1/x', container: 'glance', object: ID,
  });
  assert.equal(parseSwiftUrl(`swift://account:user:pass@Auth.Example.com/v1.0/c/${ID}`), {
    reference: null, authAddress: 'https://auth.example.com/v1.0', user: 'account:user', key: 'pass', container: 'c', object: ID,
  });
  assert.equal(parseSwiftUrl(`swift+config://store2/images/${ID}`), { reference: 'store2', authAddress: null, user: null, key: null, container: 'images', object: ID });
  assert.is(parseSwiftUrl(`swift+https://example.com/c/${ID}`)!.authAddress, 'https://example.com'); // multi-tenant form: no credentials
  for (const bad of [`swift://user:pass@http://authurl.com/v1/c/${ID}`, 'swift+config://ref1/onlyone', 'rbd://a/b/c/d', `swift+http://nocolon@h/c/${ID}`, 'file:///x']) {
    assert.is(parseSwiftUrl(bad), null, bad);
  }
  assert.is(redactSwiftUrl(url), `swift+http://***@127.0.0.1:8088/auth/v1.0/glance/${ID}`);
});

const base: SwiftStoreConfig = {
  authAddress: '', user: '', key: '', authVersion: '2', container: 'glance', createContainerOnPut: false,
  largeObjectSize: 5 << 30, largeObjectChunkSize: 200 << 20, configFile: null, reference: 'ref1', region: '',
  endpointType: 'publicURL', serviceType: 'object-store', insecure: false, retryGetCount: 0,
};

test('references: from the swift_store_* options without a config file (named default_swift_reference)', () => {
  const r = swiftReferences({ ...base, authAddress: 'http://h:8080/auth/v1.0/', user: 'a:b', key: 'k', authVersion: '1' });
  const c = pickReference(r, 'ref1', null);
  assert.equal(c, {
    authAddress: 'http://h:8080/auth/v1.0', user: 'a:b', key: 'k', authVersion: '1',
    userDomainId: 'default', userDomainName: null, projectDomainId: 'default', projectDomainName: null,
  });
  assert.match(pickReference(swiftReferences({ ...base, authAddress: 'http://h/' }), 'ref1', null) as string, 'swift_store_user, swift_store_key not set');
});

test('references: config file sections, [DEFAULT] inheritance, the store auth version as default, clear misses', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imaged-swiftrefs-'));
  const file = path.join(dir, 'glance-swift.conf');
  writeFileSync(file, [
    '[DEFAULT]', 'auth_version = 1', '',
    '[ref1]', 'user = tenant:user1', 'key = key1', 'auth_address = http://127.0.0.1:8088/auth/v1.0', '',
    '[Store2]', 'user = p:u', "key = 'quoted'", 'auth_address = https://keystone/v3', 'auth_version = 3', 'user_domain_name = Users', '',
    '[broken]', 'user = x', '',
  ].join('\n'));
  const r = swiftReferences({ ...base, configFile: file });
  assert.equal([...r.refs.keys()], ['ref1', 'store2']);
  assert.is(r.refs.get('ref1')!.authVersion, '1');
  assert.equal(r.refs.get('store2'), {
    authAddress: 'https://keystone/v3', user: 'p:u', key: 'quoted', authVersion: '3',
    userDomainId: null, userDomainName: 'Users', projectDomainId: 'default', projectDomainName: null,
  });
  assert.match(pickReference(r, 'broken', file) as string, `reference [broken] in swift_store_config_file ${file} is incomplete: auth_address, key missing`);
  assert.match(pickReference(r, 'nope', file) as string, 'has no reference [nope] (default_swift_reference); it has ref1, store2');
  assert.throws(() => swiftReferences({ ...base, configFile: path.join(dir, 'missing.conf') }), /cannot read swift_store_config_file/);
  const noVersion = path.join(dir, 'v.conf');
  writeFileSync(noVersion, '[r]\nuser = a\nkey = b\nauth_address = h:5000/v2.0\n');
  const v = swiftReferences({ ...base, configFile: noVersion }).refs.get('r')!;
  assert.is(v.authVersion, '2'); // swift_store_auth_version
  assert.is(v.authAddress, 'https://h:5000/v2.0'); // no scheme means https, as glance
});

test.run();
