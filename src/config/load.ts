// loadConfig: files → merged raw values → typed, validated Config. Every
// problem is collected (not just the first) so one check-config run shows all.
import crypto from 'node:crypto';
import net from 'node:net';
import { readImaged } from './imaged.js';
import { OptionReader } from './reader.js';
import { DEFAULT_OPTS, IMPORT_METHODS } from './schema.js';
import { readSources } from './sources.js';
import { readStores } from './stores.js';
import type { Config, ConfigProblem, LoadResult } from './types.js';
import { warnUnknownOptions } from './unknown.js';

export function loadConfig(opts: { configFiles: string[]; configDirs: string[] }): LoadResult {
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
  const imaged = readImaged(r, d.debug);
  if (sel.stores.some((s) => s.datadir === imaged.stateDir)) {
    r.error('imaged', 'state_dir', `${imaged.stateDir} is also a store's filesystem_store_datadir; give imaged its own state directory`);
  }
  warnUnknownOptions(r, sel);

  const config: Config = {
    bindHost: host,
    bindPort: d.bind_port,
    imageSizeCap: d.image_size_cap,
    userStorageQuota: d.user_storage_quota,
    showImageDirectUrl: d.show_image_direct_url,
    showMultipleLocations: d.show_multiple_locations,
    hashingAlgorithm: d.hashing_algorithm,
    enabledImportMethods: d.enabled_import_methods,
    multiStore: sel.multiStore,
    stores: sel.stores,
    defaultStore: sel.defaultStore,
    imaged,
    sources,
    embeddedDefault: false,
  };
  return problems.some((p) => p.level === 'error') ? { problems } : { config, problems };
}
