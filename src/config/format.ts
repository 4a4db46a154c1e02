// Text output: the effective configuration in glance-api.conf's own shape (so
// `imaged check-config` output can be diffed against, or even used as, a
// config file) and one-line problem reports.
import path from 'node:path';
import { normalizeSection } from './ini.js';
import { DEFAULT_OPTS } from './schema.js';
import type { Config, ConfigProblem, KeystoneConfig, StoreConfig } from './types.js';

export function formatProblem(p: ConfigProblem): string {
  return `${p.level}: ${p.option}: ${p.message}${p.source ? ` (${p.source})` : ''}`;
}

/** Quote/indent a value so that the oslo INI parser reads back exactly `v`. */
function iniValue(v: string): string {
  const lines = v.split('\n');
  if (lines.length > 1) return lines.map((l, i) => (i === 0 ? l : `    ${l}`)).join('\n');
  const needsQuotes = v !== v.trim() || (v !== '' && v[0] === v[v.length - 1] && (v[0] === '"' || v[0] === "'"));
  return needsQuotes ? `"${v}"` : v;
}

function section(name: string, entries: Array<[string, string | number | boolean]>): string {
  return [`[${name}]`, ...entries.map(([k, v]) => `${k} = ${iniValue(String(v))}`)].join('\n');
}

function fileStoreEntries(s: StoreConfig): Array<[string, string | number | boolean]> {
  return [
    ['filesystem_store_datadir', s.datadir ?? ''],
    // back to glance's notation: the octal digits written as an int
    ['filesystem_store_file_perm', s.filePerm.toString(8)],
    ['filesystem_store_chunk_size', s.chunkSize],
    ['filesystem_thin_provisioning', s.thinProvisioning],
  ];
}

function rbdStoreEntries(s: StoreConfig): Array<[string, string | number | boolean]> {
  const r = s.rbd!;
  return [
    ['rbd_store_pool', r.pool],
    ['rbd_store_user', r.user],
    ['rbd_store_ceph_conf', r.cephConf],
    ['rbd_store_chunk_size', 2 ** (r.order - 20)],
    ['rbd_thin_provisioning', s.thinProvisioning],
    ['rados_connect_timeout', r.connectTimeout],
  ];
}

function storeEntries(s: StoreConfig): Array<[string, string | number | boolean]> {
  if (s.type === 'file') return fileStoreEntries(s);
  if (s.type === 'rbd' && s.rbd) return rbdStoreEntries(s);
  // drivers imaged does not interpret yet: show what they will be given
  return Object.entries(s.options).filter(([k]) => k !== 'store_description' && k !== 'weight');
}

/** keystoneauth's password plugin options, only those set. */
function passwordAuthEntries(k: KeystoneConfig): Array<[string, string]> {
  const entries: Array<[string, string | null]> = [
    ['auth_url', k.authUrl], ['auth_type', 'password'],
    ['username', k.username], ['user_id', k.userId], ['password', k.password],
    ['user_domain_name', k.userDomainName], ['user_domain_id', k.userDomainId],
    ['project_name', k.projectName], ['project_id', k.projectId],
    ['project_domain_name', k.projectDomainName], ['project_domain_id', k.projectDomainId],
    ['system_scope', k.systemScope], ['region_name', k.regionName],
  ];
  return entries.filter((e): e is [string, string] => e[1] !== null);
}

export function formatEffectiveConfig(config: Config): string {
  const head = [
    '# imaged effective configuration',
    config.embeddedDefault || config.sources.length === 0
      ? `# sources: ${config.embeddedDefault ? `embedded default (no config file): data under ${path.dirname(config.imaged.stateDir)}, from the current directory; created at start` : 'none (built-in defaults)'}`
      : `# sources (later wins): ${config.sources.join(', ')}`,
  ].join('\n');

  const d = config;
  const defaults = section('DEFAULT', [
    ['bind_host', d.bindHost],
    ['bind_port', d.bindPort],
    ['image_size_cap', d.imageSizeCap],
    ['user_storage_quota', d.userStorageQuota],
    ['image_property_quota', d.quotas.properties],
    ['image_tag_quota', d.quotas.tags],
    ['image_location_quota', d.quotas.locations],
    ['property_protection_file', d.propertyProtection.file ?? ''],
    ['property_protection_rule_format', d.propertyProtection.format],
    ['image_member_quota', d.imageMemberQuota],
    ['show_image_direct_url', d.showImageDirectUrl],
    ['show_multiple_locations', d.showMultipleLocations],
    ['hashing_algorithm', d.hashingAlgorithm],
    ['enabled_import_methods', DEFAULT_OPTS.enabled_import_methods.format(d.enabledImportMethods)],
    // in edge mode an unset image_cache_dir defaults to state_dir/cache; writing it out keeps the round trip exact
    ['image_cache_dir', d.cache.dir ?? ''],
    ['image_cache_max_size', d.cache.maxSize],
    ['image_cache_stall_time', d.cache.stallTime],
    ['enforce_secure_rbac', d.policy.enforceSecureRbac],
    ...(d.keystoneLimits ? [['use_keystone_limits', true] as [string, boolean]] : []),
    ...(d.multiStore ? [['enabled_backends', d.stores.map((s) => `${s.id}:${s.type}`).join(', ')] as [string, string]] : []),
  ]);

  const storeSections: string[] = [];
  if (d.multiStore) {
    storeSections.push(section('glance_store', [['default_backend', d.defaultStore]]));
    for (const s of d.stores) {
      storeSections.push(
        section(normalizeSection(s.id), [['store_description', s.description], ['weight', s.weight], ...storeEntries(s)]),
      );
    }
  } else {
    const s = d.stores[0];
    storeSections.push(section('glance_store', [['default_store', d.defaultStore], ...(s ? storeEntries(s) : [])]));
  }

  const i = d.imaged;
  const imaged = section('imaged', [
    ['state_dir', i.stateDir],
    ['service_uid', i.serviceUid],
    ['service_gid', i.serviceGid],
    ['auth_strategy', i.auth],
    ['noauth_project_id', i.noauthProject],
    ['noauth_user_id', i.noauthUser],
    ['noauth_roles', i.noauthRoles.join(',')],
    ['noauth_trust_headers', i.trustContextHeaders],
    ['log_level', i.logLevel],
    ['sendfile', i.sendfile],
    ['send_threads', i.sendThreads ?? 'auto'],
    ['tcp_nopush', i.tcpNopush],
    ['hash_in_workers', i.hashWorkers],
    ['upstream', i.upstream ?? ''],
    ['upstream_grace_period', i.upstreamGracePeriod],
    ['upstream_timeout', i.upstreamTimeout],
    ['cache_prefetch_workers', d.cache.prefetchWorkers],
    ['cache_hard_max_size', d.cache.hardMaxSize],
    ['drain_timeout', i.drainTimeout],
  ]);

  const p = d.policy;
  const policy = section('oslo_policy', [
    ['policy_file', p.policyFile],
    ['policy_dirs', p.policyDirs[0] ?? ''],
    ['enforce_new_defaults', p.enforceNewDefaults],
    ['enforce_scope', p.enforceScope],
  ]);

  const k = d.keystone;
  const keystone = k
    ? [
        section('keystone_authtoken', [
          ['www_authenticate_uri', k.wwwAuthenticateUri],
          ...passwordAuthEntries(k),
          ['interface', k.interface],
          ['service_token_roles', k.serviceTokenRoles.join(',')],
          ['service_token_roles_required', k.serviceTokenRolesRequired],
          ['token_cache_time', k.tokenCacheTime],
          ['include_service_catalog', k.includeServiceCatalog],
          ['http_connect_timeout', k.httpConnectTimeout],
          ['http_request_max_retries', k.httpRequestMaxRetries],
          ['delay_auth_decision', k.delayAuthDecision],
        ]),
      ]
    : [];
  const l = d.keystoneLimits;
  if (l) {
    keystone.push(section('oslo_limit', [
      ['endpoint_id', l.endpointId], ...passwordAuthEntries(l.auth), ['interface', l.auth.interface],
      ['http_connect_timeout', l.auth.httpConnectTimeout], ['http_request_max_retries', l.auth.httpRequestMaxRetries],
    ]));
  }

  return [head, defaults, ...storeSections, imaged, policy, ...keystone].join('\n\n') + '\n';
}
