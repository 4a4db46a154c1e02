// Store selection in both of glance's shapes:
//  - single store: no [DEFAULT] enabled_backends; [glance_store] default_store
//    names the type (glance_store's single-store option; default_backend is
//    accepted too) and the driver options live in [glance_store] itself. The
//    store's id is its type name.
//  - multi-store: [DEFAULT] enabled_backends = id:type, ...; each id has its own
//    [id] section; [glance_store] default_backend picks the default.
import path from 'node:path';
import { normalizeSection } from './ini.js';
import { OptError, parsePairs } from './options.js';
import type { OptionReader } from './reader.js';
import {
  FILE_STORE_OPTS,
  GLANCE_DEFAULT_DATADIR,
  GLANCE_STORE_TYPES,
  RBD_STORE_OPTS,
  S3_STORE_OPTS,
  SWIFT_STORE_OPTS,
  s3StoreOptionNames,
  swiftStoreOptionNames,
  RESERVED_ID_PREFIX,
  STORE_COMMON_OPTS,
  rbdStoreOptionNames,
  SUPPORTED_STORE_TYPES,
  fileStoreOptionNames,
} from './schema.js';
import type { StoreConfig } from './types.js';

export interface StoreSelection {
  multiStore: boolean;
  stores: StoreConfig[];
  defaultStore: string;
  /** store sections whose option names we know (for unknown-option warnings): section → known names */
  storeSections: Map<string, Set<string>>;
}

/** sections with a fixed meaning that a backend id must not take over */
const TAKEN_SECTIONS = new Set(['default', 'glance_store', 'imaged']);

export function readStores(r: OptionReader): StoreSelection {
  const backends = r.rawValue('DEFAULT', 'enabled_backends');
  // an empty enabled_backends is an empty dict to oslo, which glance treats as single-store
  return backends !== undefined && backends.trim() !== '' ? readMulti(r, backends) : readSingle(r);
}

/** null when the type is usable; otherwise the error text */
function checkType(type: string, what: string): string | null {
  if (SUPPORTED_STORE_TYPES.includes(type)) return null;
  if (GLANCE_STORE_TYPES.includes(type)) {
    return `store type "${type}"${what} is not supported by imaged yet (supported: ${SUPPORTED_STORE_TYPES.join(', ')})`;
  }
  return `unknown store type "${type}"${what}; glance store types are ${GLANCE_STORE_TYPES.join(', ')}`;
}

function readSingle(r: OptionReader): StoreSelection {
  const section = 'glance_store';
  const setOrUndef = (name: string) => {
    const v = r.rawValue(section, name)?.trim();
    return v ? v : undefined;
  };
  const legacy = setOrUndef('default_store');
  const backend = setOrUndef('default_backend');
  if (legacy && backend && legacy !== backend) {
    r.warn(section, 'default_backend', `differs from default_store "${legacy}"; without enabled_backends default_store is used`);
  }
  // glance_store registers default_backend only with enabled_backends: glance-api would ignore it here and use
  // its default_store default, file. imaged accepts it, but says so when the two would not agree.
  if (!legacy && backend && backend !== 'file' && !checkType(backend, '')) {
    r.warn(section, 'default_backend', `is the multi-store option (with [DEFAULT] enabled_backends); in single-store mode glance-api reads default_store and would use "file". imaged uses "${backend}": write default_store = ${backend}`);
  }
  const type = legacy ?? backend ?? 'file';
  const typeProblem = checkType(type, '');
  if (typeProblem) r.error(section, legacy ? 'default_store' : 'default_backend', typeProblem);

  const store: StoreConfig = {
    id: type,
    type,
    description: '',
    weight: 0,
    isDefault: true,
    options: r.raw.sectionValues(section),
    ...fileDefaults(),
  };
  if (type === 'file') Object.assign(store, readFileStore(r, section, GLANCE_DEFAULT_DATADIR));
  if (type === 'rbd') Object.assign(store, readRbdStore(r, section));
  if (type === 'swift') Object.assign(store, readSwiftStore(r, section));
  if (type === 's3') Object.assign(store, readS3Store(r, section));
  // `stores` (legacy list such as "file,http") is accepted and ignored: only the default store is served
  return { multiStore: false, stores: [store], defaultStore: store.id, storeSections: new Map() };
}

function readMulti(r: OptionReader, backends: string): StoreSelection {
  let pairs: Array<[string, string]> = [];
  try {
    pairs = parsePairs(backends);
  } catch (err) {
    if (!(err instanceof OptError)) throw err;
    r.error('DEFAULT', 'enabled_backends', err.message);
    return { multiStore: true, stores: [], defaultStore: '', storeSections: new Map() };
  }

  const stores: StoreConfig[] = [];
  const storeSections = new Map<string, Set<string>>();
  const seen = new Set<string>();
  for (const [id, type] of pairs) {
    const section = normalizeSection(id);
    if (seen.has(section)) {
      r.error('DEFAULT', 'enabled_backends', `backend id "${id}" is listed more than once`);
      continue;
    }
    seen.add(section);
    if (id.startsWith(RESERVED_ID_PREFIX)) {
      r.error('DEFAULT', 'enabled_backends', `backend id "${id}" is reserved: glance keeps ids starting with ${RESERVED_ID_PREFIX} for its own stores`);
      continue;
    }
    if (TAKEN_SECTIONS.has(id.toLowerCase())) {
      r.error('DEFAULT', 'enabled_backends', `backend id "${id}" cannot be used: [${id}] already has another meaning`);
      continue;
    }
    const typeProblem = checkType(type, ` of backend "${id}"`);
    if (typeProblem) {
      r.error('DEFAULT', 'enabled_backends', typeProblem);
      continue;
    }
    const common = r.readAll(section, STORE_COMMON_OPTS);
    const store: StoreConfig = {
      id,
      type,
      description: common.store_description,
      weight: common.weight,
      isDefault: false,
      options: r.raw.sectionValues(section),
      ...fileDefaults(),
    };
    if (type === 'file') Object.assign(store, readFileStore(r, section, undefined));
    if (type === 'rbd') Object.assign(store, readRbdStore(r, section));
    if (type === 'swift') Object.assign(store, readSwiftStore(r, section));
    if (type === 's3') Object.assign(store, readS3Store(r, section));
    const driverOpts =
      type === 'rbd' ? rbdStoreOptionNames() : type === 'swift' ? swiftStoreOptionNames() : type === 's3' ? s3StoreOptionNames() : fileStoreOptionNames();
    storeSections.set(section, new Set([...Object.keys(STORE_COMMON_OPTS), ...driverOpts]));
    stores.push(store);
  }

  const defaultStore = readDefaultBackend(r, pairs.map(([id]) => id));
  for (const s of stores) s.isDefault = s.id === defaultStore;
  warnSingleStoreLeftovers(r, stores[0]?.id);
  checkSharedDatadirs(r, stores);
  return { multiStore: true, stores, defaultStore, storeSections };
}

function readDefaultBackend(r: OptionReader, ids: string[]): string {
  const value = r.rawValue('glance_store', 'default_backend')?.trim();
  if (!value) {
    r.error('glance_store', 'default_backend', `is required when [DEFAULT] enabled_backends is set; set it to one of: ${ids.join(', ')}`);
    return '';
  }
  if (!ids.includes(value)) {
    r.error('glance_store', 'default_backend', `"${value}" is not one of the enabled backends (${ids.join(', ')})`);
  }
  return value;
}

/** Single-store options in [glance_store] do nothing in multi-store mode; say so rather than ignore them silently. */
function warnSingleStoreLeftovers(r: OptionReader, example: string | undefined): void {
  const where = example ? `[${example}]` : "each backend's own section";
  if (r.isSet('glance_store', 'default_store')) {
    r.warn('glance_store', 'default_store', 'ignored when [DEFAULT] enabled_backends is set; default_backend picks the default store');
  }
  if (r.isSet('glance_store', 'stores')) {
    r.warn('glance_store', 'stores', 'ignored when [DEFAULT] enabled_backends is set');
  }
  for (const name of fileStoreOptionNames()) {
    if (r.isSet('glance_store', name)) {
      r.warn('glance_store', name, `ignored when [DEFAULT] enabled_backends is set; set it in ${where}`);
    }
  }
}

/** Two stores in one directory would see (and delete) each other's files. */
function checkSharedDatadirs(r: OptionReader, stores: StoreConfig[]): void {
  const owner = new Map<string, string>();
  for (const s of stores) {
    if (!s.datadir) continue;
    const other = owner.get(s.datadir);
    if (other) r.error(normalizeSection(s.id), 'filesystem_store_datadir', `${s.datadir} is also the datadir of backend "${other}"; each store needs its own directory`);
    else owner.set(s.datadir, s.id);
  }
}

function fileDefaults(): Pick<StoreConfig, 'filePerm' | 'chunkSize' | 'thinProvisioning'> {
  return {
    filePerm: 0,
    chunkSize: FILE_STORE_OPTS.filesystem_store_chunk_size.default,
    thinProvisioning: FILE_STORE_OPTS.filesystem_thin_provisioning.default,
  };
}

/** @param defaultDatadir undefined → the datadir is required (multi-store) */
function readFileStore(
  r: OptionReader,
  section: string,
  defaultDatadir: string | undefined,
): Pick<StoreConfig, 'datadir' | 'filePerm' | 'chunkSize' | 'thinProvisioning'> {
  if (r.isSet(section, 'filesystem_store_datadirs')) {
    r.error(section, 'filesystem_store_datadirs', 'several datadirs with priorities are not supported by imaged; use one filesystem_store_datadir (or one backend per directory with enabled_backends)');
  }
  let datadir: string | undefined;
  const raw = r.rawValue(section, 'filesystem_store_datadir');
  if (raw === undefined) {
    if (defaultDatadir === undefined) r.error(section, 'filesystem_store_datadir', `is required for a file store: add filesystem_store_datadir = /path to [${section}]`);
    datadir = defaultDatadir;
  } else if (raw.trim() === '') {
    r.error(section, 'filesystem_store_datadir', 'is empty: set it to the directory that holds the image files');
  } else {
    datadir = path.resolve(raw.trim());
  }
  const opts = r.readAll(section, FILE_STORE_OPTS);
  return {
    datadir,
    filePerm: decodeFilePerm(r, section, opts.filesystem_store_file_perm),
    chunkSize: opts.filesystem_store_chunk_size,
    thinProvisioning: opts.filesystem_thin_provisioning,
  };
}

/** glance_store's rbd driver: pool, cephx user, ceph.conf, object size in MiB (a power of two). */
function readRbdStore(r: OptionReader, section: string): Pick<StoreConfig, 'rbd' | 'thinProvisioning'> {
  const o = r.readAll(section, RBD_STORE_OPTS);
  const mib = o.rbd_store_chunk_size;
  if ((mib & (mib - 1)) !== 0) {
    r.error(section, 'rbd_store_chunk_size', `invalid value "${mib}": must be a power of two (MiB), e.g. 8 for 8 MiB objects`);
  }
  if (o.rbd_store_pool.trim() === '') r.error(section, 'rbd_store_pool', 'is empty: name the pool that holds the images');
  return {
    thinProvisioning: o.rbd_thin_provisioning,
    rbd: {
      pool: o.rbd_store_pool.trim(),
      user: o.rbd_store_user.trim().replace(/^client\./, ''),
      cephConf: o.rbd_store_ceph_conf.trim() === '' ? '/etc/ceph/ceph.conf' : path.resolve(o.rbd_store_ceph_conf.trim()),
      order: Math.round(Math.log2(mib)) + 20,
      connectTimeout: o.rados_connect_timeout > 0 ? o.rados_connect_timeout : 10,
    },
  };
}

const MiB = 1024 * 1024;

/** glance_store's swift driver: auth directly, or through a swift_store_config_file reference. */
function readSwiftStore(r: OptionReader, section: string): Pick<StoreConfig, 'swift'> {
  const o = r.readAll(section, SWIFT_STORE_OPTS);
  const configFile = o.swift_store_config_file.trim() ? path.resolve(o.swift_store_config_file.trim()) : null;
  if (!configFile && !o.swift_store_auth_address.trim()) {
    r.error(section, 'swift_store_auth_address', 'is required for a swift store (or set swift_store_config_file with a reference)');
  }
  if (!['1', '2', '3'].includes(o.swift_store_auth_version.trim())) {
    r.error(section, 'swift_store_auth_version', `invalid value "${o.swift_store_auth_version}": expected 1 (tempauth), 2 or 3 (Keystone)`);
  }
  if (o.swift_store_large_object_chunk_size > o.swift_store_large_object_size) {
    r.error(section, 'swift_store_large_object_chunk_size', 'must not exceed swift_store_large_object_size');
  }
  return {
    swift: {
      authAddress: o.swift_store_auth_address.trim(),
      user: o.swift_store_user.trim(),
      key: o.swift_store_key,
      authVersion: o.swift_store_auth_version.trim(),
      container: o.swift_store_container.trim() || 'glance',
      createContainerOnPut: o.swift_store_create_container_on_put,
      largeObjectSize: o.swift_store_large_object_size * MiB,
      largeObjectChunkSize: o.swift_store_large_object_chunk_size * MiB,
      configFile,
      reference: o.default_swift_reference.trim() || 'ref1',
      region: o.swift_store_region.trim(),
      endpointType: o.swift_store_endpoint_type.trim(),
      serviceType: o.swift_store_service_type.trim(),
      insecure: o.swift_store_auth_insecure,
      retryGetCount: o.swift_store_retry_get_count,
    },
  };
}

/** glance_store's s3 driver. */
function readS3Store(r: OptionReader, section: string): Pick<StoreConfig, 's3'> {
  const o = r.readAll(section, S3_STORE_OPTS);
  for (const k of ['s3_store_host', 's3_store_access_key', 's3_store_secret_key', 's3_store_bucket'] as const) {
    if (!o[k].trim()) r.error(section, k, 'is required for an s3 store');
  }
  let host = o.s3_store_host.trim();
  if (host && !/^https?:\/\//.test(host)) host = `http://${host}`; // glance accepts a bare host
  if (o.s3_store_large_object_chunk_size > o.s3_store_large_object_size) {
    r.error(section, 's3_store_large_object_chunk_size', 'must not exceed s3_store_large_object_size');
  }
  return {
    s3: {
      host: host.replace(/\/+$/, ''),
      accessKey: o.s3_store_access_key.trim(),
      secretKey: o.s3_store_secret_key.trim(),
      bucket: o.s3_store_bucket.trim(),
      createBucketOnPut: o.s3_store_create_bucket_on_put,
      urlFormat: o.s3_store_bucket_url_format as 'auto' | 'path' | 'virtual',
      largeObjectSize: o.s3_store_large_object_size * MiB,
      largeObjectChunkSize: o.s3_store_large_object_chunk_size * MiB,
      threadPools: o.s3_store_thread_pools,
      region: o.s3_store_region_name.trim(),
    },
  };
}

/**
 * glance_store reads filesystem_store_file_perm as an int and then decodes its
 * decimal digits as octal (int(str(perm), 8)): 640 means 0o640. <= 0 means
 * "leave the umask default". Like glance, refuse modes without owner read.
 */
function decodeFilePerm(r: OptionReader, section: string, value: number): number {
  if (value <= 0) return 0;
  const digits = String(value);
  const bad = (msg: string) => {
    r.error(section, 'filesystem_store_file_perm', msg);
    return 0;
  };
  if (/[89]/.test(digits)) return bad(`invalid value "${digits}": the digits are an octal mode such as 640 (rw-r-----), so 8 and 9 cannot occur`);
  const mode = parseInt(digits, 8);
  if (mode > 0o777) return bad(`invalid value "${digits}": must be a permission mode of at most 777 (no setuid/sticky bits)`);
  if (!(mode & 0o400)) return bad(`mode ${digits} would leave image files unreadable by imaged itself: include owner read (e.g. 600 or 640)`);
  return mode;
}
