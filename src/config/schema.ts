// Which options imaged reads, with types and defaults, and which glance
// options it knowingly accepts and ignores (so a real glance-api.conf loads
// with few warnings). Unknown-option warnings are limited to DEFAULT,
// glance_store, imaged and the store sections; every other section
// ([database], [keystone_authtoken], [oslo_*] ...) is glance's business.
import { bool, int, list, str } from './options.js';

export const GLANCE_DEFAULT_DATADIR = '/var/lib/glance/images';
export const DEFAULT_STATE_DIR = '/var/lib/imaged';
export const DEFAULT_SERVICE_ID = 42424;
export const IMPORT_METHODS = ['glance-direct', 'web-download', 'copy-image', 'glance-download'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Store types imaged implements. Later drivers add theirs here. */
export const SUPPORTED_STORE_TYPES: readonly string[] = ['file', 'rbd', 'swift', 's3'];
/** Types glance_store knows; configuring one we do not implement yet is an error that says so. */
export const GLANCE_STORE_TYPES: readonly string[] = ['file', 'http', 'rbd', 'swift', 's3', 'vmware', 'cinder'];
/** glance reserves these backend ids for its staging and tasks stores. */
export const RESERVED_ID_PREFIX = 'os_glance_';

export const DEFAULT_OPTS = {
  bind_host: str('127.0.0.1'), // glance's default is 0.0.0.0; a per-node daemon should not listen everywhere unasked
  bind_port: int(9292, { min: 1, max: 65535 }),
  image_size_cap: int(1099511627776, { min: 1 }),
  user_storage_quota: str('0'), // B/KB/MB/GB/TB as glance; validated in load.ts
  // legacy per-image quotas; negative = unlimited, as glance
  image_property_quota: int(128),
  image_tag_quota: int(128),
  image_location_quota: int(10),
  property_protection_file: str(''),
  property_protection_rule_format: str('roles', { choices: ['roles', 'policies'] }),
  image_member_quota: int(128), // members per image; negative = unlimited, as Glance
  show_image_direct_url: bool(false),
  show_multiple_locations: bool(false),
  hashing_algorithm: str('sha512'),
  enabled_import_methods: list(['glance-direct', 'web-download', 'copy-image'], { bracketed: true }),
  debug: bool(false),
  // Glance's cache options; the cache is on when image_cache_dir is set (or in edge mode).
  image_cache_dir: str(''),
  image_cache_max_size: int(10737418240, { min: 0 }),
  image_cache_stall_time: int(86400, { min: 1 }),
  // Glance's switch for its legacy owner checks; glance-api insists it equals [oslo_policy] enforce_new_defaults
  enforce_secure_rbac: bool(false),
};
/** [DEFAULT] options read by other modules (stores, auth), not through DEFAULT_OPTS */
export const DEFAULT_SPECIAL = ['enabled_backends', 'auth_strategy', 'use_keystone_limits'];

export const IMAGED_OPTS = {
  state_dir: str(DEFAULT_STATE_DIR),
  service_uid: int(DEFAULT_SERVICE_ID, { min: 0, max: 4294967294 }),
  service_gid: int(DEFAULT_SERVICE_ID, { min: 0, max: 4294967294 }),
  auth_strategy: str('noauth'),
  noauth_project_id: str('admin'),
  noauth_user_id: str('admin'),
  noauth_roles: list(['admin', 'member', 'reader']),
  noauth_trust_headers: bool(false),
  log_level: str('info', { choices: LOG_LEVELS }),
  sendfile: bool(true),
  // Threads that send download bytes (sendfile) off the event loop: 'auto' = min(4, CPUs); 0 = the event loop.
  send_threads: str('auto'),
  // TCP_CORK while a download is sent (nginx's tcp_nopush): full segments only, the tail at the end.
  tcp_nopush: bool(true),
  hash_in_workers: bool(true),
  // Edge mode: serve the Images API of this upstream (a Glance or another imaged), caching image data here.
  upstream: str(''),
  upstream_grace_period: int(300, { min: 0 }), // s: cached images whose metadata was seen this recently survive an upstream outage
  upstream_timeout: int(30, { min: 1 }), // s per upstream request (until the response headers)
  cache_prefetch_workers: int(2, { min: 1, max: 64 }),
  cache_hard_max_size: int(0, { min: 0 }), // bytes; 0 = 1.5 × image_cache_max_size. Fills beyond it are refused
  // s: on SIGTERM, transfers in flight may finish this long; below the unit's TimeoutStopSec=30 so we exit before SIGKILL
  drain_timeout: int(25, { min: 0, max: 86400 }),
};

/** oslo.policy's options as Glance 25 (oslo.policy 4.0) sets them: Glance makes policy.yaml the default file. */
export const OSLO_POLICY_OPTS = {
  policy_file: str('policy.yaml'),
  policy_dirs: str('policy.d'),
  enforce_new_defaults: bool(false),
  enforce_scope: bool(false),
};

/** Glance's [import_filtering_opts] for web-download, with Glance's defaults. */
export const IMPORT_FILTER_OPTS = {
  allowed_schemes: list(['http', 'https'], { bracketed: true }),
  disallowed_schemes: list([], { bracketed: true }),
  allowed_hosts: list([], { bracketed: true }),
  disallowed_hosts: list([], { bracketed: true }),
  allowed_ports: list(['80', '443'], { bracketed: true }),
  disallowed_ports: list([], { bracketed: true }),
};

/** Options of every store section in multi-store mode. */
export const STORE_COMMON_OPTS = {
  store_description: str(''),
  weight: int(0),
};

/** glance_store filesystem driver options (datadir is read separately: it has no default in multi-store mode). */
export const FILE_STORE_OPTS = {
  filesystem_store_file_perm: int(0),
  filesystem_store_chunk_size: int(65536, { min: 1 }),
  filesystem_thin_provisioning: bool(false),
};
export const FILE_STORE_SPECIAL = ['filesystem_store_datadir', 'filesystem_store_datadirs'];
/** accepted and ignored: it only adds metadata to locations */
export const FILE_STORE_IGNORED = ['filesystem_store_metadata_file'];

/** glance [DEFAULT] options accepted and ignored (from glance-api.conf samples since 2017). */
export const DEFAULT_IGNORED = new Set(
  `admin_password admin_role admin_tenant_name admin_user allow_additional_image_properties
  allow_anonymous_access allowed_rpc_exception_modules api_limit_max auth_region auth_url backlog
  ca_file cache_prefetcher_interval cert_file client_socket_timeout conn_pool_min_size conn_pool_ttl
  control_exchange data_api default_log_levels default_publisher_id delayed_delete digest_algorithm
  disabled_notifications do_secure_hash enable_image_import enable_v1_api enable_v1_registry
  enable_v2_api enable_v2_registry executor_thread_pool_size fatal_deprecations
  http_keepalive http_retries image_cache_driver
  image_cache_sqlite_db instance_format instance_uuid_format key_file
  limit_param_default location_strategy max_header_line max_request_id_length
  metadata_encryption_key node_staging_uri owner_is_tenant pipe_handle
  public_endpoint publish_errors pydev_worker_debug_host
  pydev_worker_debug_port rate_limit_burst rate_limit_except_level rate_limit_interval scrub_pool_size
  scrub_time secure_proxy_ssl_header send_identity_headers subscribe_on tcp_keepidle transport_url
  use_dynamic_connections use_eventlog use_journal use_json use_pub_sub
  use_router_proxy use_stderr use_syslog use_user_token verbose watch_log_file
  worker_self_reference_url workers syslog_log_facility host`.split(/\s+/),
);
/** option families of oslo.log / oslo.messaging / the v1 registry found in [DEFAULT] */
export const DEFAULT_IGNORED_PREFIXES = ['log_', 'logging_', 'max_logfile_', 'rpc_', 'zmq_', 'registry_'];

/** [glance_store] options that are not driver-specific. */
export const GLANCE_STORE_GENERAL = new Set([
  'stores',
  'default_store',
  'default_backend',
  'store_capabilities_update_min_interval',
  'rootwrap_config',
  'https_ca_certificates_file',
  'https_insecure',
  'http_proxy_information',
  'default_swift_reference',
]);
/** option families of the other glance_store drivers; accepted in [glance_store] */
export const STORE_DRIVER_PREFIXES = ['cinder_', 'rbd_', 'rados_', 'swift_', 's3_store_', 'vmware_', 'sheepdog_'];

/** glance_store rbd driver options, with glance_store's defaults. */
export const RBD_STORE_OPTS = {
  rbd_store_pool: str('images'),
  rbd_store_user: str(''),
  rbd_store_ceph_conf: str('/etc/ceph/ceph.conf'),
  rbd_store_chunk_size: int(8, { min: 1, max: 1024 }), // MiB, a power of two: object order = log2(MiB) + 20
  rbd_thin_provisioning: bool(false),
  rados_connect_timeout: int(0, { min: 0 }), // seconds; 0 = imaged's own bounded default
};
export const RBD_STORE_IGNORED = ['rbd_store_keyring'];
export function rbdStoreOptionNames(): string[] {
  return [...Object.keys(RBD_STORE_OPTS), ...RBD_STORE_IGNORED];
}

/** glance_store swift driver options, with glance_store's defaults (sizes in MiB, as glance). */
export const SWIFT_STORE_OPTS = {
  swift_store_auth_address: str(''),
  swift_store_user: str(''),
  swift_store_key: str(''),
  swift_store_auth_version: str('2'),
  swift_store_container: str('glance'),
  swift_store_create_container_on_put: bool(false),
  swift_store_large_object_size: int(5120, { min: 1 }),
  swift_store_large_object_chunk_size: int(200, { min: 1 }),
  swift_store_config_file: str(''),
  default_swift_reference: str('ref1'),
  swift_store_region: str(''),
  swift_store_endpoint_type: str('publicURL'),
  swift_store_service_type: str('object-store'),
  swift_store_auth_insecure: bool(false),
  swift_store_retry_get_count: int(0, { min: 0 }),
};
export const SWIFT_STORE_IGNORED = ['swift_store_multi_tenant', 'swift_store_admin_tenants', 'swift_store_ssl_compression',
  'swift_store_cacert', 'swift_buffer_on_upload', 'swift_upload_buffer_dir', 'swift_store_expire_soon_interval',
  'swift_store_use_trusts', 'swift_store_multiple_containers_seed', 'swift_store_endpoint'];
export function swiftStoreOptionNames(): string[] {
  return [...Object.keys(SWIFT_STORE_OPTS), ...SWIFT_STORE_IGNORED];
}

/** glance_store s3 driver options, with glance_store's defaults (sizes in MiB, as glance). */
export const S3_STORE_OPTS = {
  s3_store_host: str(''),
  s3_store_access_key: str(''),
  s3_store_secret_key: str(''),
  s3_store_bucket: str(''),
  s3_store_create_bucket_on_put: bool(false),
  s3_store_bucket_url_format: str('auto', { choices: ['auto', 'path', 'virtual'] }),
  s3_store_large_object_size: int(100, { min: 1 }),
  s3_store_large_object_chunk_size: int(10, { min: 5 }),
  s3_store_thread_pools: int(10, { min: 1, max: 64 }),
  s3_store_region_name: str(''),
};
export const S3_STORE_IGNORED = ['s3_store_cacert'];
export function s3StoreOptionNames(): string[] {
  return [...Object.keys(S3_STORE_OPTS), ...S3_STORE_IGNORED];
}

export function fileStoreOptionNames(): string[] {
  return [...Object.keys(FILE_STORE_OPTS), ...FILE_STORE_SPECIAL, ...FILE_STORE_IGNORED];
}

/** Pipelines of Debian's /etc/glance/glance-api-paste.ini (glance-api 25): [paste_deploy] flavor values. */
export const PASTE_FLAVORS: readonly string[] = ['', 'caching', 'cachemanagement', 'keystone', 'keystone+caching', 'keystone+cachemanagement'];

/**
 * keystonemiddleware's auth_token options and the password auth plugin's, with their defaults. Exceptions:
 * delay_auth_decision defaults to true as Debian's paste ini sets it; http_connect_timeout (none by default in
 * keystonemiddleware: a hanging Keystone hangs requests) is 10 s.
 */
export const KEYSTONE_AUTHTOKEN_OPTS = {
  www_authenticate_uri: str(''),
  auth_uri: str(''), // deprecated name of www_authenticate_uri
  auth_type: str(''),
  auth_url: str(''),
  username: str(''),
  user_id: str(''),
  password: str(''),
  user_domain_name: str(''),
  user_domain_id: str(''),
  project_name: str(''),
  project_id: str(''),
  project_domain_name: str(''),
  project_domain_id: str(''),
  default_domain_name: str(''),
  default_domain_id: str(''),
  region_name: str(''),
  interface: str('internal'),
  service_token_roles: list(['service']),
  service_token_roles_required: bool(false),
  token_cache_time: int(300, { min: -1 }),
  include_service_catalog: bool(true),
  http_connect_timeout: int(10, { min: 1 }),
  http_request_max_retries: int(3, { min: 0, max: 10 }),
  delay_auth_decision: bool(true),
};
/** keystonemiddleware options imaged knowingly does not implement, with what to do instead. */
export const KEYSTONE_IGNORED = new Map<string, string>([
  ['memcached_servers', 'validated tokens are cached in imaged\'s own memory'],
  ['cache', 'validated tokens are cached in imaged\'s own memory'],
  ['cafile', 'https to Keystone is verified with Node\'s CA store; add a CA with the NODE_EXTRA_CA_CERTS environment variable'],
  ['certfile', 'no client certificate is presented to Keystone'],
  ['keyfile', 'no client certificate is presented to Keystone'],
  ['insecure', 'https to Keystone is always verified'],
  ['enforce_token_bind', 'token bind information is not checked'],
  ['service_type', 'tokens restricted by access rules are refused (Keystone is not told imaged supports them)'],
  ['auth_version', 'imaged always uses the Identity v3 API'],
  ...['identity_uri', 'admin_user', 'admin_password', 'admin_tenant_name', 'admin_token', 'auth_host', 'auth_port', 'auth_protocol', 'auth_admin_prefix']
    .map((n): [string, string] => [n, 'a legacy option of the removed admin-token auth; use auth_type = password with auth_url, username, password, project_name']),
]);
export const KEYSTONE_IGNORED_PREFIXES = ['memcache_'];
