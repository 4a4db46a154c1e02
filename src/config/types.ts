// Shapes of the effective configuration. Everything here is already validated
// and defaulted; nothing downstream should need to look at raw INI text except
// StoreConfig.options, which later store drivers read their own settings from.
import type { ProtectionRule, RuleFormat } from '../auth/property-protections.js';

export interface StoreConfig {
  /** Backend id ('fast'); in single-store mode the type name ('file'). */
  id: string;
  /** Driver type: 'file' today; see SUPPORTED_STORE_TYPES. */
  type: string;
  /** store_description */
  description: string;
  /** weight (glance uses it to order stores in locations) */
  weight: number;
  isDefault: boolean;
  /** Raw options of the store's section ([id], or [glance_store] in single-store mode). */
  options: Record<string, string>;
  // file store:
  /** filesystem_store_datadir, absolute */
  datadir?: string;
  /** filesystem_store_file_perm decoded as a mode (640 in the file → 0o640); 0 = leave the umask default */
  filePerm: number;
  /** filesystem_store_chunk_size, bytes */
  chunkSize: number;
  /** filesystem_thin_provisioning (file) or rbd_thin_provisioning (rbd) */
  thinProvisioning: boolean;
  /** rbd store (glance_store's rbd driver options) */
  rbd?: RbdStoreConfig;
  swift?: SwiftStoreConfig;
  s3?: S3StoreConfig;
}

export interface SwiftStoreConfig {
  /** auth endpoint, e.g. http://127.0.0.1:8080/auth/v1.0 (v1) or a Keystone URL (v3); '' when taken from a reference */
  authAddress: string;
  user: string; // v1 "account:user"; v3 "project:user" as glance
  key: string;
  authVersion: string; // '1' | '2' | '3'
  container: string;
  createContainerOnPut: boolean;
  /** bytes: larger images are segmented (DLO manifest, as glance) */
  largeObjectSize: number;
  largeObjectChunkSize: number;
  /** swift_store_config_file and its default reference: auth comes from there when set */
  configFile: string | null;
  reference: string;
  region: string;
  endpointType: string;
  serviceType: string;
  insecure: boolean;
  retryGetCount: number;
}

export interface S3StoreConfig {
  host: string; // endpoint URL, e.g. http://127.0.0.1:7480
  accessKey: string;
  secretKey: string;
  bucket: string;
  createBucketOnPut: boolean;
  urlFormat: 'auto' | 'path' | 'virtual';
  /** bytes: larger images use multipart uploads */
  largeObjectSize: number;
  largeObjectChunkSize: number;
  threadPools: number;
  region: string;
}

export interface RbdStoreConfig {
  pool: string;
  /** cephx user without "client.", '' = librados default (admin) */
  user: string;
  cephConf: string;
  /** object order: rbd_store_chunk_size MiB = 2^order bytes */
  order: number;
  /** seconds */
  connectTimeout: number;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface ImagedOptions {
  /** [imaged] state_dir: LMDB catalog, staging, temp (absolute) */
  stateDir: string;
  /** [imaged] service_uid: datadirs must be owned by it */
  serviceUid: number;
  /** [imaged] service_gid */
  serviceGid: number;
  /** [imaged] auth_strategy, else keystone when [paste_deploy] flavor is a keystone pipeline */
  auth: 'noauth' | 'keystone';
  /** [imaged] noauth_project_id */
  noauthProject: string;
  /** [imaged] noauth_user_id */
  noauthUser: string;
  /** [imaged] noauth_roles */
  noauthRoles: string[];
  /** [imaged] noauth_trust_headers: take X-Project-Id / X-User-Id / X-Roles from requests */
  trustContextHeaders: boolean;
  /** [imaged] log_level (pino level names); [DEFAULT] debug=True means 'debug' */
  logLevel: LogLevel;
  /** [imaged] sendfile */
  sendfile: boolean;
  /** [imaged] send_threads: null = auto (min(4, CPUs)), 0 = send from the event loop */
  sendThreads: number | null;
  /** [imaged] tcp_nopush: downloads sent under TCP_CORK until their end */
  tcpNopush: boolean;
  /** [imaged] hash_in_workers */
  hashWorkers: boolean;
  /** [imaged] upstream: edge mode when set (base URL, no trailing slash) */
  upstream: string | null;
  /** [imaged] upstream_grace_period, seconds */
  upstreamGracePeriod: number;
  /** [imaged] upstream_timeout, seconds */
  upstreamTimeout: number;
  /** [imaged] drain_timeout, seconds: how long transfers in flight may finish after SIGTERM */
  drainTimeout: number;
}

export interface CacheConfig {
  /** [DEFAULT] image_cache_dir (absolute); null = no cache */
  dir: string | null;
  /** [DEFAULT] image_cache_max_size, bytes: pruning keeps the cache under it */
  maxSize: number;
  /** [imaged] cache_hard_max_size, bytes: a fill that would pass it is refused (served uncached) */
  hardMaxSize: number;
  /** [DEFAULT] image_cache_stall_time, seconds without progress before a fill is abandoned */
  stallTime: number;
  /** [imaged] cache_prefetch_workers */
  prefetchWorkers: number;
}

export interface Config {
  bindHost: string;
  bindPort: number;
  /** bytes */
  imageSizeCap: number;
  /** as written (e.g. "10GB"); quotas.storage is its value in bytes */
  userStorageQuota: string;
  quotas: QuotaConfig;
  propertyProtection: PropertyProtectionConfig;
  /** [DEFAULT] image_member_quota: members per image, negative = unlimited */
  imageMemberQuota: number;
  showImageDirectUrl: boolean;
  showMultipleLocations: boolean;
  /** one of node's crypto.getHashes() */
  hashingAlgorithm: string;
  enabledImportMethods: string[];
  /** true when [DEFAULT] enabled_backends is set */
  multiStore: boolean;
  stores: StoreConfig[];
  /** id of the default store */
  defaultStore: string;
  imaged: ImagedOptions;
  /** [keystone_authtoken], when auth is keystone */
  keystone: KeystoneConfig | null;
  /** [DEFAULT] use_keystone_limits with [oslo_limit]; null when off */
  keystoneLimits: KeystoneLimitsConfig | null;
  cache: CacheConfig;
  /** [import_filtering_opts]: what web-download may fetch */
  importFilter: ImportFilterConfig;
  /** [oslo_policy] and Glance's [DEFAULT] enforce_secure_rbac */
  policy: PolicyConfig;
  /** files actually read, in order (absolute paths) */
  sources: string[];
  embeddedDefault: boolean;
}

/** Glance's legacy quotas: counts per image (negative = unlimited) and bytes per project (0 = unlimited). */
export interface QuotaConfig {
  properties: number;
  tags: number;
  locations: number;
  /** user_storage_quota in bytes */
  storage: number;
}

export interface PropertyProtectionConfig {
  /** property_protection_file, absolute; null = no protections */
  file: string | null;
  format: RuleFormat;
  /** the file's sections, already checked (see src/auth/property-protections.ts) */
  rules: ProtectionRule[];
}

export interface ConfigProblem {
  level: 'error' | 'warning';
  /** "section.option", e.g. "DEFAULT.bind_port"; "--config-file"/"--config-dir" for file-level problems */
  option: string;
  /** prose without the option prefix; formatProblem() puts them together */
  message: string;
  /** "file:line" the offending value came from, when known */
  source?: string;
}

export interface LoadResult {
  /** undefined iff any problem has level 'error' */
  config?: Config;
  problems: ConfigProblem[];
}

export interface ImportFilterConfig {
  allowedSchemes: string[];
  disallowedSchemes: string[];
  /** a host listed here may be private or loopback; otherwise those addresses are refused (no SSRF) */
  allowedHosts: string[];
  disallowedHosts: string[];
  allowedPorts: number[];
  disallowedPorts: number[];
}

export interface PolicyConfig {
  /** [oslo_policy] policy_file: absolute, or looked up in configDirs; policy.yaml falls back to policy.json */
  policyFile: string;
  /** [oslo_policy] policy_dirs: each looked up like policy_file; missing ones are skipped */
  policyDirs: string[];
  /** [oslo_policy] enforce_new_defaults: only the secure-RBAC defaults, without the legacy ones or'ed in */
  enforceNewDefaults: boolean;
  /** [oslo_policy] enforce_scope: a token of the wrong scope (system, domain) fails project-scoped policies */
  enforceScope: boolean;
  /** [DEFAULT] enforce_secure_rbac: when false, Glance's legacy hard-coded owner checks also apply */
  enforceSecureRbac: boolean;
  /** where relative policy files are searched, in oslo.config's find_file order: the --config-dir
   * directories, the directories of the --config-file files (last first), ~/.glance, ~, /etc/glance, /etc */
  configDirs: string[];
}

/** [keystone_authtoken]: keystonemiddleware's options that imaged implements (see src/auth/keystone.ts). */
export interface KeystoneConfig {
  /** where imaged authenticates and validates tokens; no trailing '/' */
  authUrl: string;
  /** told to clients in WWW-Authenticate (www_authenticate_uri, else auth_uri, else auth_url) */
  wwwAuthenticateUri: string;
  username: string | null;
  userId: string | null;
  password: string;
  userDomainId: string | null;
  userDomainName: string | null;
  projectName: string | null;
  projectId: string | null;
  projectDomainId: string | null;
  projectDomainName: string | null;
  /** 'all' for a system-scoped token ([oslo_limit] only); else the token is project-scoped */
  systemScope: string | null;
  /** picks Keystone's identity endpoint from the catalog (with interface) */
  regionName: string | null;
  interface: 'public' | 'internal' | 'admin';
  /** lowercased */
  serviceTokenRoles: string[];
  serviceTokenRolesRequired: boolean;
  /** seconds a validated token is trusted without asking Keystone again; ≤ 0 = never cached */
  tokenCacheTime: number;
  includeServiceCatalog: boolean;
  /** seconds per Keystone request */
  httpConnectTimeout: number;
  /** retries after a failed connection */
  httpRequestMaxRetries: number;
  /** how a rejected request's 401 looks: glance's own (true) or keystonemiddleware's (false) */
  delayAuthDecision: boolean;
}

/** glance's unified limits: where they are read from (oslo.limit's [oslo_limit]). */
export interface KeystoneLimitsConfig {
  /** the image service's endpoint id: its service and region select the limits */
  endpointId: string;
  auth: KeystoneConfig;
  /** how long a project's limits are kept (seconds); not an option of glance's, the tests set 0 to see changes at once */
  cacheSeconds?: number;
}
