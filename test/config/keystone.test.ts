import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { formatEffectiveConfig, loadConfig } from '../../src/config/index.js';
import { errors, find, loadText, options, tmpDir, warnings } from './helpers.js';

// What Debian's glance-api.conf has in [keystone_authtoken] once debconf filled in the password.
const DEBIAN = `[keystone_authtoken]
auth_url = http://localhost:5000
project_name = service
project_domain_name = Default
username = glance
user_domain_name = Default
www_authenticate_uri = http://localhost:5000
region_name = regionOne
auth_type = password
password = secret
`;

for (const flavor of ['keystone', 'keystone+caching', 'keystone+cachemanagement']) {
  test(`flavor = ${flavor} with Debian's [keystone_authtoken]: keystone, keystonemiddleware's defaults`, () => {
    const r = loadText(`[paste_deploy]\nflavor = ${flavor}\n${DEBIAN}`);
    assert.equal(r.problems, []);
    assert.is(r.config!.imaged.auth, 'keystone');
    assert.equal(r.config!.keystone, {
      authUrl: 'http://localhost:5000', wwwAuthenticateUri: 'http://localhost:5000',
      username: 'glance', userId: null, password: 'secret', userDomainId: null, userDomainName: 'Default',
      projectName: 'service', projectId: null, projectDomainId: null, projectDomainName: 'Default', systemScope: null,
      regionName: 'regionOne', interface: 'internal', serviceTokenRoles: ['service'], serviceTokenRolesRequired: false,
      tokenCacheTime: 300, includeServiceCatalog: true, httpConnectTimeout: 10, httpRequestMaxRetries: 3, delayAuthDecision: true,
    });
  });
}

test('every implemented option is read; ids instead of names; roles lowercased', () => {
  const r = loadText(`[paste_deploy]\nflavor = keystone\n[keystone_authtoken]
auth_type = v3password
auth_url = https://ks.example:5000/v3/
www_authenticate_uri = https://public.example:5000
user_id = u1
password = p
project_id = p1
interface = public
service_token_roles = Service, admin
service_token_roles_required = true
token_cache_time = 7
include_service_catalog = false
http_connect_timeout = 2
http_request_max_retries = 0
delay_auth_decision = false
`);
  assert.equal(r.problems, []);
  const k = r.config!.keystone!;
  assert.is(k.authUrl, 'https://ks.example:5000/v3');
  assert.is(k.wwwAuthenticateUri, 'https://public.example:5000');
  assert.is(k.userId, 'u1');
  assert.is(k.projectId, 'p1');
  assert.is(k.interface, 'public');
  assert.equal(k.serviceTokenRoles, ['service', 'admin']);
  assert.is(k.serviceTokenRolesRequired, true);
  assert.is(k.tokenCacheTime, 7);
  assert.is(k.includeServiceCatalog, false);
  assert.is(k.httpConnectTimeout, 2);
  assert.is(k.httpRequestMaxRetries, 0);
  assert.is(k.delayAuthDecision, false);
});

test('www_authenticate_uri falls back to auth_uri, then auth_url', () => {
  const base = '[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\nauth_type = password\nusername = g\nuser_domain_id = default\npassword = p\nproject_name = s\nproject_domain_id = default\nauth_url = http://a:5000\n';
  assert.is(loadText(base).config!.keystone!.wwwAuthenticateUri, 'http://a:5000');
  assert.is(loadText(base + 'auth_uri = http://old:5000/\n').config!.keystone!.wwwAuthenticateUri, 'http://old:5000');
});

test('missing required options are errors naming each option', () => {
  const r = loadText('[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\nuser_domain_name = Default\n');
  assert.not.ok(r.config);
  assert.equal(options(errors(r)).sort(), [
    'keystone_authtoken.auth_type', 'keystone_authtoken.auth_url', 'keystone_authtoken.password',
    'keystone_authtoken.project_name', 'keystone_authtoken.username',
  ]);
  // a name without its domain
  const d = loadText('[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\nauth_type = password\nauth_url = http://k\nusername = g\npassword = p\nproject_name = s\n');
  assert.equal(options(errors(d)).sort(), ['keystone_authtoken.project_domain_name', 'keystone_authtoken.user_domain_name']);
  // default_domain_* stands in for both
  assert.equal(errors(loadText('[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\nauth_type = password\nauth_url = http://k\nusername = g\npassword = p\nproject_name = s\ndefault_domain_id = default\n')), []);
});

test('bad values and unsupported auth are errors', () => {
  const bad = (extra: string) => loadText(`[paste_deploy]\nflavor = keystone\n${DEBIAN}${extra}`);
  assert.match(find(bad('auth_type = token\n'), 'keystone_authtoken.auth_type')!.message, 'only password');
  assert.match(find(bad('auth_url = ftp://x\n'), 'keystone_authtoken.auth_url')!.message, 'http');
  assert.match(find(bad('interface = private\n'), 'keystone_authtoken.interface')!.message, 'public, internal or admin');
  assert.match(find(bad('token_cache_time = soon\n'), 'keystone_authtoken.token_cache_time')!.message, 'integer');
  assert.match(find(bad('http_connect_timeout = 0\n'), 'keystone_authtoken.http_connect_timeout')!.message, 'at least 1');
  assert.match(find(bad('auth_section = other\n'), 'keystone_authtoken.auth_section')!.message, 'not supported');
  assert.match(find(bad('system_scope = all\n'), 'keystone_authtoken.system_scope')!.message, 'project-scoped');
});

test('keystonemiddleware options imaged does not implement are warned about by name; unknown ones too', () => {
  const r = loadText(`[paste_deploy]\nflavor = keystone\n${DEBIAN}memcached_servers = 127.0.0.1:11211\nmemcache_security_strategy = ENCRYPT\ncafile = /etc/ssl/ca.pem\ninsecure = true\nservice_type = image\nadmin_user = glance\nwhatever = 1\n`);
  assert.ok(r.config);
  const w = warnings(r);
  assert.equal(options(w).sort(), [
    'keystone_authtoken.admin_user', 'keystone_authtoken.cafile', 'keystone_authtoken.insecure', 'keystone_authtoken.memcache_security_strategy',
    'keystone_authtoken.memcached_servers', 'keystone_authtoken.service_type', 'keystone_authtoken.whatever',
  ]);
  assert.match(find(r, 'keystone_authtoken.cafile')!.message, 'NODE_EXTRA_CA_CERTS');
  assert.match(find(r, 'keystone_authtoken.memcached_servers')!.message, 'not implemented by imaged');
  assert.match(find(r, 'keystone_authtoken.whatever')!.message, 'unknown option');
  // with noauth, [keystone_authtoken] is glance's business: nothing is checked
  assert.equal(loadText(`[paste_deploy]\nflavor =\n[keystone_authtoken]\nwhatever = 1\n`).problems, []);
});

test('a flavor Debian\'s paste ini does not define: a warning (unless a custom paste ini is named), keystone when its name says so', () => {
  const r = loadText(`[paste_deploy]\nflavor = keystone+custom\n${DEBIAN}`);
  assert.is(r.config!.imaged.auth, 'keystone');
  assert.match(find(r, 'paste_deploy.flavor')!.message, 'not a pipeline');
  const n = loadText('[paste_deploy]\nflavor = noauthowner\n');
  assert.is(n.config!.imaged.auth, 'noauth');
  assert.is(find(n, 'paste_deploy.flavor')!.level, 'warning');
  // a custom paste ini may define it: served by name, no warning
  assert.equal(loadText('[paste_deploy]\nflavor = noauthowner\nconfig_file = /etc/imaged/paste.ini\n').problems, []);
});

test('the effective config round-trips [keystone_authtoken]', () => {
  const r = loadText(`[paste_deploy]\nflavor = keystone\n${DEBIAN}token_cache_time = 60\n`);
  const text = formatEffectiveConfig(r.config!);
  assert.match(text, /\[keystone_authtoken\]\nwww_authenticate_uri = http:\/\/localhost:5000/);
  const f = path.join(tmpDir(), 'effective.conf');
  fs.writeFileSync(f, text);
  const back = loadConfig({ configFiles: [f], configDirs: [] });
  assert.equal(back.problems, []);
  assert.is(back.config!.imaged.auth, 'keystone');
  assert.equal(back.config!.keystone, r.config!.keystone);
});

test('use_keystone_limits: [oslo_limit] endpoint_id and password auth, system-scoped or project-scoped', () => {
  assert.is(loadText('[DEFAULT]\n').config!.keystoneLimits, null);
  const r = loadText(`[DEFAULT]\nuse_keystone_limits = true\n[oslo_limit]
endpoint_id = 0123abcd
auth_url = http://k:5000
auth_type = password
username = glance
user_domain_id = default
password = p
system_scope = all
region_name = RegionOne
`);
  assert.equal(options(r.problems), []); // enforced now: nothing to warn about
  const both = loadText(`[DEFAULT]\nuse_keystone_limits = true\nuser_storage_quota = 1GB\n[oslo_limit]\nendpoint_id = e\nauth_url = http://k:5000\nauth_type = password\nusername = glance\nuser_domain_id = default\npassword = p\nsystem_scope = all\n`);
  assert.equal(options(both.problems), ['DEFAULT.user_storage_quota'], 'user_storage_quota gives way to unified limits: said so');
  const l = r.config!.keystoneLimits!;
  assert.is(l.endpointId, '0123abcd');
  assert.equal([l.auth.authUrl, l.auth.username, l.auth.systemScope, l.auth.projectName, l.auth.regionName], ['http://k:5000', 'glance', 'all', null, 'RegionOne']);
  // round trip
  const f = path.join(tmpDir(), 'limits.conf');
  fs.writeFileSync(f, formatEffectiveConfig(r.config!));
  const back = loadConfig({ configFiles: [f], configDirs: [] });
  assert.equal(errors(back), []);
  assert.equal(back.config!.keystoneLimits, l);

  const missing = loadText('[DEFAULT]\nuse_keystone_limits = true\n');
  assert.equal(options(errors(missing)).sort(), [
    'oslo_limit.auth_type', 'oslo_limit.auth_url', 'oslo_limit.endpoint_id', 'oslo_limit.password', 'oslo_limit.project_name', 'oslo_limit.username',
  ]);
  assert.match(find(loadText(`[DEFAULT]\nuse_keystone_limits = true\n[oslo_limit]\nendpoint_id = e\nauth_url = http://k\nauth_type = password\nusername = g\nuser_domain_id = default\npassword = p\nsystem_scope = domain\n`), 'oslo_limit.system_scope')!.message, 'only all');
  assert.match(find(loadText(`[DEFAULT]\nuse_keystone_limits = true\n[oslo_limit]\nendpoint_id = e\nauth_url = http://k\nauth_type = password\nusername = g\nuser_domain_id = default\npassword = p\nsystem_scope = all\ncafile = /x\n`), 'oslo_limit.cafile')!.message, 'unknown option');
});

test.run();
