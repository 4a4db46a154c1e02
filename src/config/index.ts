// Configuration: glance-api.conf (oslo.config conventions) plus an [imaged]
// section. Other modules import from here only.
export type { Config, ConfigProblem, ImagedOptions, LoadResult, LogLevel, StoreConfig, RbdStoreConfig, SwiftStoreConfig, S3StoreConfig, CacheConfig, ImportFilterConfig, KeystoneConfig, KeystoneLimitsConfig } from './types.js';
export { loadConfig } from './load.js';
export { embeddedDefaultConfig } from './defaults.js';
export { checkStoreDirs } from './dirs.js';
export { formatEffectiveConfig, formatProblem } from './format.js';
export { SUPPORTED_STORE_TYPES } from './schema.js';
