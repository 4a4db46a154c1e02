// Configuration: glance-api.conf (oslo.config conventions) plus an [imaged]
// section. Other modules import from here only.
export type { Config, ConfigProblem, ImagedOptions, LoadResult, LogLevel, StoreConfig, RbdStoreConfig, SwiftStoreConfig, S3StoreConfig, CacheConfig, ImportFilterConfig, KeystoneConfig, KeystoneLimitsConfig, PolicyConfig } from './types.js';
export { loadConfig } from './load.js';
export type { ConfigArg } from './sources.js';
export { embeddedDefaultConfig } from './defaults.js';
export { checkStoreDirs, type CheckOptions } from './dirs.js';
export { checkPolicyFiles, inspectPolicy } from './policy.js';
export { formatEffectiveConfig, formatProblem } from './format.js';
export { SUPPORTED_STORE_TYPES } from './schema.js';
