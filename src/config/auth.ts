// Who authenticates requests: glance decides it with its paste pipeline ([paste_deploy] flavor), and a
// keystone pipeline reads keystonemiddleware's [keystone_authtoken]. imaged reads the same two, and
// [imaged] auth_strategy may override them explicitly (never implicitly weaker than what glance asked for).
import type { OptionReader } from './reader.js';
import { KEYSTONE_AUTHTOKEN_OPTS, KEYSTONE_IGNORED, KEYSTONE_IGNORED_PREFIXES, PASTE_FLAVORS } from './schema.js';
import { bool } from './options.js';
import type { KeystoneConfig, KeystoneLimitsConfig } from './types.js';

const K = 'keystone_authtoken';
const L = 'oslo_limit';
/** [oslo_limit] options imaged reads: endpoint_id and the password plugin's (keystoneauth adapter/session options are not read). */
const LIMIT_OPTION_NAMES = new Set(['endpoint_id', 'system_scope', 'auth_type', 'auth_url', 'username', 'user_id', 'password',
  'user_domain_name', 'user_domain_id', 'project_name', 'project_id', 'project_domain_name', 'project_domain_id',
  'default_domain_name', 'default_domain_id', 'region_name', 'interface', 'http_connect_timeout', 'http_request_max_retries']);
const STRATEGIES = ['noauth', 'keystone'] as const;
type Strategy = (typeof STRATEGIES)[number];

/**
 * [imaged] auth_strategy wins; otherwise keystone when glance would authenticate with Keystone: a keystone
 * paste flavor, or the old [DEFAULT] auth_strategy = keystone.
 */
export function readAuth(r: OptionReader): { auth: Strategy; keystone: KeystoneConfig | null } {
  const own = r.rawValue('imaged', 'auth_strategy')?.trim();
  const glance = r.rawValue('DEFAULT', 'auth_strategy')?.trim();
  const flavor = readFlavor(r);
  let auth: Strategy = 'noauth';
  if (own) {
    if (!(STRATEGIES as readonly string[]).includes(own)) r.error('imaged', 'auth_strategy', `invalid value "${own}": expected noauth or keystone`);
    else auth = own as Strategy;
  } else {
    if (glance && !(STRATEGIES as readonly string[]).includes(glance)) {
      r.error('DEFAULT', 'auth_strategy', `invalid value "${glance}": expected noauth or keystone`);
    }
    if (flavor.includes('keystone') || glance === 'keystone') auth = 'keystone';
  }
  return { auth, keystone: auth === 'keystone' ? readKeystone(r, K) : null };
}

/**
 * [DEFAULT] use_keystone_limits: glance's unified limits, read from Keystone with oslo.limit's [oslo_limit]
 * (endpoint_id = glance's endpoint in the catalog, and password auth options, usually system_scope = all:
 * a project-scoped token only sees its own project's limits).
 */
export function readLimits(r: OptionReader): KeystoneLimitsConfig | null {
  if (!r.read('DEFAULT', 'use_keystone_limits', bool(false))) return null;
  const endpointId = (r.rawValue(L, 'endpoint_id') ?? '').trim();
  if (!endpointId) r.error(L, 'endpoint_id', 'missing: use_keystone_limits needs the image endpoint\'s id in Keystone (openstack endpoint list --service image)');
  if (r.isSet('DEFAULT', 'user_storage_quota')) r.warn('DEFAULT', 'user_storage_quota', 'ignored with use_keystone_limits (image_size_total applies instead, as in glance)');
  return { endpointId, auth: readKeystone(r, L) };
}

/**
 * The paste flavor as glance names pipelines: "" → glance-api, "keystone" → glance-api-keystone, ... A flavor
 * Debian's paste ini does not define is only plausible with a custom [paste_deploy] config_file, whose
 * pipelines imaged cannot see: it is served by its name (keystone in it → keystone).
 */
function readFlavor(r: OptionReader): string {
  const flavor = (r.rawValue('paste_deploy', 'flavor') ?? '').trim();
  if (flavor && !PASTE_FLAVORS.includes(flavor) && !r.isSet('paste_deploy', 'config_file')) {
    const as = flavor.includes('keystone') ? 'keystone authentication' : 'noauth';
    r.warn('paste_deploy', 'flavor', `"${flavor}" is not a pipeline of Debian's glance-api-paste.ini (${PASTE_FLAVORS.filter(Boolean).join(', ')}); imaged serves it with ${as}`);
  }
  return flavor;
}

/** Password auth options (+ keystonemiddleware's in [keystone_authtoken]) of `section`. */
function readKeystone(r: OptionReader, section: string): KeystoneConfig {
  const K = section;
  const limits = section === L;
  const o = r.readAll(K, KEYSTONE_AUTHTOKEN_OPTS);
  type StrOpt = { [N in keyof typeof o]: (typeof o)[N] extends string ? N : never }[keyof typeof o];
  const v = (name: StrOpt) => o[name].trim();
  const set = (name: StrOpt) => v(name) !== '';
  const require = (name: string, why: string) => r.error(K, name, `missing: ${why}`);

  if (r.isSet(K, 'auth_section')) r.error(K, 'auth_section', 'not supported by imaged: put the auth plugin options (auth_url, username, ...) in [keystone_authtoken] itself');
  if (!set('auth_type')) require('auth_type', 'imaged authenticates itself to Keystone with auth_type = password');
  else if (!['password', 'v3password'].includes(v('auth_type'))) {
    r.error(K, 'auth_type', `"${v('auth_type')}" is not supported by imaged: only password (Keystone v3 password authentication)`);
  }
  const authUrl = url(r, K, 'auth_url', v('auth_url'));
  if (!set('auth_url')) require('auth_url', `the Keystone URL imaged authenticates at${limits ? '' : ' and validates tokens with'} (e.g. http://keystone:5000)`);
  if (!set('username') && !set('user_id')) require('username', 'the service user imaged authenticates as (or user_id)');
  if (!set('password')) require('password', "the service user's password");
  const system = limits ? (r.rawValue(K, 'system_scope') ?? '').trim() : '';
  if (system && system !== 'all') r.error(K, 'system_scope', `invalid value "${system}": only all`);
  if (!set('project_name') && !set('project_id') && !system) {
    require('project_name', limits ? "the user's project (or project_id), or system_scope = all" : "the service user's project (or project_id); the service token is project-scoped");
  }
  const domain = (kind: 'user' | 'project') => {
    const id = v(`${kind}_domain_id`) || v('default_domain_id');
    const name = v(`${kind}_domain_name`) || v('default_domain_name');
    // A name needs its domain to mean something; an id does not.
    if (set(kind === 'user' ? 'username' : 'project_name') && !id && !name) {
      require(`${kind}_domain_name`, `the domain of ${kind === 'user' ? 'username' : 'project_name'} (or ${kind}_domain_id)`);
    }
    return { id: id || null, name: name || null };
  };
  const userDomain = domain('user');
  const projectDomain = domain('project');
  const www = v('www_authenticate_uri') || v('auth_uri');
  if (www) url(r, K, v('www_authenticate_uri') ? 'www_authenticate_uri' : 'auth_uri', www);
  if (!['public', 'internal', 'admin'].includes(v('interface'))) {
    r.error(K, 'interface', `invalid value "${v('interface')}": expected public, internal or admin`);
  }
  for (const name of limits ? ['domain_id', 'domain_name', 'trust_id'] : ['system_scope', 'domain_id', 'domain_name', 'trust_id']) {
    if (r.isSet(K, name)) r.error(K, name, `not supported by imaged: its token is ${limits ? 'project- or system-scoped' : 'project-scoped (project_name or project_id)'}`);
  }
  warnIgnored(r, K);
  return {
    authUrl,
    wwwAuthenticateUri: (www || authUrl).replace(/\/+$/, ''),
    username: v('username') || null,
    userId: v('user_id') || null,
    password: o.password,
    userDomainId: userDomain.id,
    userDomainName: userDomain.name,
    projectName: system ? null : v('project_name') || null,
    projectId: system ? null : v('project_id') || null,
    systemScope: system || null,
    projectDomainId: projectDomain.id,
    projectDomainName: projectDomain.name,
    regionName: v('region_name') || null,
    interface: v('interface') as KeystoneConfig['interface'],
    serviceTokenRoles: o.service_token_roles.map((x) => x.toLowerCase()),
    serviceTokenRolesRequired: o.service_token_roles_required,
    tokenCacheTime: o.token_cache_time,
    includeServiceCatalog: o.include_service_catalog,
    httpConnectTimeout: o.http_connect_timeout,
    httpRequestMaxRetries: o.http_request_max_retries,
    delayAuthDecision: o.delay_auth_decision,
  };
}

function url(r: OptionReader, section: string, name: string, raw: string): string {
  if (!raw) return '';
  try {
    const u = new URL(raw);
    if (u.protocol === 'http:' || u.protocol === 'https:') return raw.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  r.error(section, name, `invalid value "${raw}": expected an http:// or https:// URL such as http://keystone:5000`);
  return '';
}

/** keystonemiddleware options imaged does not implement: named, so nobody believes they are in effect. */
function warnIgnored(r: OptionReader, section: string): void {
  const limits = section === L;
  const known = (n: string) => (limits ? LIMIT_OPTION_NAMES.has(n) : n in KEYSTONE_AUTHTOKEN_OPTS || ['auth_section', 'system_scope', 'domain_id', 'domain_name', 'trust_id'].includes(n));
  for (const name of r.raw.sections.get(section)?.keys() ?? []) {
    if (known(name) || ['auth_section', 'domain_id', 'domain_name', 'trust_id'].includes(name)) continue;
    const why = KEYSTONE_IGNORED.get(name) ?? (KEYSTONE_IGNORED_PREFIXES.some((p) => name.startsWith(p)) ? 'memcached is not used: imaged caches validated tokens in its own memory' : undefined);
    r.warn(section, name, why && !limits ? `not implemented by imaged, ignored (${why})` : 'unknown option, ignored');
  }
}
