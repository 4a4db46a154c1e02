// The configuration used when no config file is given: everything under one
// base directory and owned by whoever started the daemon, so a developer can
// run it without root or a glance-api.conf.
import path from 'node:path';
import { DEFAULT_OPTS, FILE_STORE_OPTS, IMAGED_OPTS, OSLO_POLICY_OPTS } from './schema.js';
import type { Config } from './types.js';

export function embeddedDefaultConfig(baseDir: string = process.cwd()): Config {
  const base = path.resolve(baseDir);
  const datadir = path.join(base, 'var', 'images');
  return {
    bindHost: DEFAULT_OPTS.bind_host.default,
    bindPort: DEFAULT_OPTS.bind_port.default,
    imageSizeCap: DEFAULT_OPTS.image_size_cap.default,
    userStorageQuota: DEFAULT_OPTS.user_storage_quota.default,
    quotas: {
      properties: DEFAULT_OPTS.image_property_quota.default,
      tags: DEFAULT_OPTS.image_tag_quota.default,
      locations: DEFAULT_OPTS.image_location_quota.default,
      storage: 0,
    },
    propertyProtection: { file: null, format: 'roles', rules: [] },
    imageMemberQuota: DEFAULT_OPTS.image_member_quota.default,
    showImageDirectUrl: DEFAULT_OPTS.show_image_direct_url.default,
    showMultipleLocations: DEFAULT_OPTS.show_multiple_locations.default,
    hashingAlgorithm: DEFAULT_OPTS.hashing_algorithm.default,
    enabledImportMethods: [...DEFAULT_OPTS.enabled_import_methods.default],
    multiStore: false,
    stores: [
      {
        id: 'file',
        type: 'file',
        description: '',
        weight: 0,
        isDefault: true,
        options: { default_store: 'file', filesystem_store_datadir: datadir },
        datadir,
        filePerm: 0,
        chunkSize: FILE_STORE_OPTS.filesystem_store_chunk_size.default,
        thinProvisioning: FILE_STORE_OPTS.filesystem_thin_provisioning.default,
      },
    ],
    defaultStore: 'file',
    imaged: {
      stateDir: path.join(base, 'var', 'state'),
      serviceUid: process.geteuid?.() ?? 0,
      serviceGid: process.getegid?.() ?? 0,
      auth: 'noauth',
      noauthProject: IMAGED_OPTS.noauth_project_id.default,
      noauthUser: IMAGED_OPTS.noauth_user_id.default,
      noauthRoles: [...IMAGED_OPTS.noauth_roles.default],
      trustContextHeaders: IMAGED_OPTS.noauth_trust_headers.default,
      logLevel: 'info',
      sendfile: IMAGED_OPTS.sendfile.default,
      sendThreads: null,
      tcpNopush: IMAGED_OPTS.tcp_nopush.default,
      hashWorkers: IMAGED_OPTS.hash_in_workers.default,
      upstream: null,
      upstreamGracePeriod: IMAGED_OPTS.upstream_grace_period.default,
      upstreamTimeout: IMAGED_OPTS.upstream_timeout.default,
      drainTimeout: IMAGED_OPTS.drain_timeout.default,
    },
    keystone: null,
    keystoneLimits: null,
    cache: {
      dir: null,
      maxSize: DEFAULT_OPTS.image_cache_max_size.default,
      hardMaxSize: Math.floor(DEFAULT_OPTS.image_cache_max_size.default * 1.5),
      stallTime: DEFAULT_OPTS.image_cache_stall_time.default,
      prefetchWorkers: IMAGED_OPTS.cache_prefetch_workers.default,
    },
    importFilter: {
      allowedSchemes: ['http', 'https'], disallowedSchemes: [], allowedHosts: [], disallowedHosts: [],
      allowedPorts: [80, 443], disallowedPorts: [],
    },
    // Glance's defaults; no search directories, so a developer's run sees no /etc/glance policy files
    policy: {
      policyFile: OSLO_POLICY_OPTS.policy_file.default,
      policyDirs: [OSLO_POLICY_OPTS.policy_dirs.default],
      enforceNewDefaults: OSLO_POLICY_OPTS.enforce_new_defaults.default,
      enforceScope: OSLO_POLICY_OPTS.enforce_scope.default,
      enforceSecureRbac: DEFAULT_OPTS.enforce_secure_rbac.default,
      configDirs: [],
    },
    sources: [],
    embeddedDefault: true,
  };
}
