// loadConfig: files → merged raw values → typed, validated Config. Every
// problem is collected (not just the first) so one check-config run shows all.
import crypto from 'node:crypto';
import net from 'node:net';
import { hasInlineComment } from './comments.js';
import { readAuth, readLimits } from './auth.js';
import { readImaged } from './imaged.js';
import { readPolicy } from './policy.js';
import { OptionReader } from './reader.js';
import path from 'node:path';
import { DEFAULT_OPTS, IMAGED_OPTS, IMPORT_FILTER_OPTS, IMPORT_METHODS } from './schema.js';
import type { ImportFilterConfig } from './types.js';
import { configArgs, readSources, type SourceOptions } from './sources.js';
import { readStores } from './stores.js';
import type { Config, ConfigProblem, LoadResult } from './types.js';
import { warnUnknownOptions } from './unknown.js';
import { loadProtections, type RuleFormat } from '../auth/property-protections.js';
import { parseStorageQuota } from '../images/quota.js';
import type { PropertyProtectionConfig } from './types.js';

export function loadConfig(opts: SourceOptions): LoadResult {
  const problems: ConfigProblem[] = [];
  const { raw, sources } = readSources(opts, problems);
  const r = new OptionReader(raw, problems);

  const d = r.readAll('DEFAULT', DEFAULT_OPTS);
  // oslo HostAddressOpt: an IP address or a host name
  const host = d.bind_host.trim();
  if (!net.isIP(host) && !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) {
    r.error('DEFAULT', 'bind_host', `invalid value "${d.bind_host}": expected an IP address or a host name`);
  }
  if (!crypto.getHashes().includes(d.hashing_algorithm)) {
    r.error('DEFAULT', 'hashing_algorithm', `"${d.hashing_algorithm}" is not a hash algorithm this node supports (e.g. sha512, sha256, sha3-512)`);
  }
  for (const m of d.enabled_import_methods) {
    if (!(IMPORT_METHODS as readonly string[]).includes(m)) {
      r.warn('DEFAULT', 'enabled_import_methods', `unknown import method "${m}" (glance knows ${IMPORT_METHODS.join(', ')})`);
    }
  }

  const sel = readStores(r);
  const { auth, keystone } = readAuth(r);
  const imaged = readImaged(r, d.debug, auth);
  if (sel.stores.some((s) => s.datadir === imaged.stateDir)) {
    r.error('imaged', 'state_dir', `${imaged.stateDir} is also a store's filesystem_store_datadir; give imaged its own state directory`);
  }
  warnUnknownOptions(r, sel);
  warnInlineComments(r, problems, ['DEFAULT', 'glance_store', 'imaged', 'import_filtering_opts', ...sel.storeSections.keys()]);

  const config: Config = {
    bindHost: host,
    bindPort: d.bind_port,
    imageSizeCap: d.image_size_cap,
    userStorageQuota: d.user_storage_quota,
    quotas: {
      properties: d.image_property_quota,
      tags: d.image_tag_quota,
      locations: d.image_location_quota,
      storage: storageQuota(r, d.user_storage_quota),
    },
    propertyProtection: readProtections(r, d.property_protection_file, d.property_protection_rule_format as RuleFormat, sources),
    imageMemberQuota: d.image_member_quota,
    showImageDirectUrl: d.show_image_direct_url,
    showMultipleLocations: d.show_multiple_locations,
    hashingAlgorithm: d.hashing_algorithm,
    enabledImportMethods: d.enabled_import_methods,
    multiStore: sel.multiStore,
    stores: sel.stores,
    defaultStore: sel.defaultStore,
    imaged,
    keystone,
    keystoneLimits: readLimits(r),
    cache: {
      dir: d.image_cache_dir.trim() ? path.resolve(d.image_cache_dir.trim()) : imaged.upstream ? path.join(imaged.stateDir, 'cache') : null,
      maxSize: d.image_cache_max_size,
      hardMaxSize: cacheHard(r, d.image_cache_max_size),
      stallTime: d.image_cache_stall_time,
      prefetchWorkers: r.readAll('imaged', { cache_prefetch_workers: IMAGED_OPTS.cache_prefetch_workers }).cache_prefetch_workers,
    },
    importFilter: readImportFilter(r),
    policy: readPolicy(r, d.enforce_secure_rbac, {
      configFiles: configArgs(opts).filter((a) => a.kind === 'file').map((a) => a.path),
      configDirs: configArgs(opts).filter((a) => a.kind === 'dir').map((a) => a.path),
    }),
    sources,
    embeddedDefault: false,
  };
  return problems.some((p) => p.level === 'error') ? { problems } : { config, problems };
}

/**
 * A value with " #" that no check refused (a project id, a path checked later) would silently carry the
 * comment. Secrets may legitimately hold " #" and are left alone.
 */
function warnInlineComments(r: OptionReader, problems: ConfigProblem[], sections: string[]): void {
  const reported = new Set(problems.map((p) => p.option));
  for (const section of sections) {
    for (const [name, v] of r.raw.sections.get(section) ?? []) {
      if (!hasInlineComment(v.value) || reported.has(`${section}.${name}`) || /key|password|secret/.test(name)) continue;
      r.warn(section, name, `value "${v.value}" contains " #"; it is taken as part of the value`);
    }
  }
}

function storageQuota(r: OptionReader, v: string): number {
  try {
    return parseStorageQuota(v);
  } catch (e) {
    r.error('DEFAULT', 'user_storage_quota', (e as Error).message);
    return 0;
  }
}

/**
 * property_protection_file: read and checked now, so a bad file stops the start (as glance-api) and
 * check-config shows why. A relative path is found next to the config files, as oslo's find_file does.
 */
function readProtections(r: OptionReader, file: string, format: RuleFormat, sources: string[]): PropertyProtectionConfig {
  if (file.trim() === '') return { file: null, format, rules: [] };
  const base = sources.length ? path.dirname(sources[0]) : process.cwd();
  const abs = path.resolve(base, file.trim());
  const { rules, problems } = loadProtections(abs, format);
  for (const p of problems) {
    if (p.level === 'error') r.error('DEFAULT', 'property_protection_file', p.message);
    else r.warn('DEFAULT', 'property_protection_file', p.message);
  }
  return { file: abs, format, rules };
}

/** The hard limit defaults to 1.5 × the soft one and may not be below it. */
function cacheHard(r: OptionReader, soft: number): number {
  const hard = r.readAll('imaged', { cache_hard_max_size: IMAGED_OPTS.cache_hard_max_size }).cache_hard_max_size;
  if (hard === 0) return Math.floor(soft * 1.5);
  if (hard < soft) r.error('imaged', 'cache_hard_max_size', `${hard} is below image_cache_max_size (${soft}); the hard limit must be at least the soft one`);
  return hard;
}

function readImportFilter(r: OptionReader): ImportFilterConfig {
  const o = r.readAll('import_filtering_opts', IMPORT_FILTER_OPTS);
  const ports = (name: 'allowed_ports' | 'disallowed_ports') =>
    o[name].flatMap((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n < 1 || n > 65535) {
        r.error('import_filtering_opts', name, `invalid port "${p}"`);
        return [];
      }
      return [n];
    });
  const lower = (xs: string[]) => xs.map((x) => x.toLowerCase());
  return {
    allowedSchemes: lower(o.allowed_schemes),
    disallowedSchemes: lower(o.disallowed_schemes),
    allowedHosts: lower(o.allowed_hosts),
    disallowedHosts: lower(o.disallowed_hosts),
    allowedPorts: ports('allowed_ports'),
    disallowedPorts: ports('disallowed_ports'),
  };
}
