// Swift account references, as glance_store reads them from swift_store_config_file:
//   [ref1]
//   user = account:user        (v2/v3: project:user)
//   key = secret
//   auth_address = http://127.0.0.1:8080/auth/v1.0
//   auth_version = 1           (default: the store's swift_store_auth_version)
//   user_domain_id / user_domain_name / project_domain_id / project_domain_name   (v3, default id "default")
// Without a config file glance builds one reference, named default_swift_reference, from the
// swift_store_* options; so does swiftReferences().
import { readFileSync } from 'node:fs';
import { parseIni } from '../config/ini.js';
import type { SwiftStoreConfig } from '../config/index.js';
import { normalizeAuthAddress } from './swift-location.js';

export interface SwiftCredentials {
  /** normalized: scheme included, no trailing '/' */
  authAddress: string;
  user: string;
  key: string;
  authVersion: string;
  userDomainId: string | null;
  userDomainName: string | null;
  projectDomainId: string | null;
  projectDomainName: string | null;
}

export interface SwiftReferences {
  refs: Map<string, SwiftCredentials>;
  /** references skipped because a required field is missing: name → why */
  invalid: Map<string, string>;
}

/** The references a store can use; throws when the config file cannot be read. */
export function swiftReferences(c: SwiftStoreConfig): SwiftReferences {
  const refs = new Map<string, SwiftCredentials>();
  const invalid = new Map<string, string>();
  if (!c.configFile) {
    if (c.authAddress && c.user && c.key) {
      refs.set(c.reference, credentials({ auth_address: c.authAddress, user: c.user, key: c.key }, c.authVersion));
    } else {
      const missing = [!c.authAddress && 'swift_store_auth_address', !c.user && 'swift_store_user', !c.key && 'swift_store_key'].filter(Boolean);
      invalid.set(c.reference, `${missing.join(', ')} not set`);
    }
    return { refs, invalid };
  }
  let text: string;
  try {
    text = readFileSync(c.configFile, 'utf8');
  } catch (e) {
    throw new Error(`cannot read swift_store_config_file ${c.configFile}: ${(e as Error).message}`);
  }
  const ini = parseIni(text);
  // Python's ConfigParser: [DEFAULT] values apply to every reference; section names are lower-cased by parseIni.
  const defaults = ini.sections.get('DEFAULT');
  for (const [name, opts] of ini.sections) {
    if (name === 'DEFAULT') continue;
    const v: Record<string, string> = {};
    for (const src of [defaults, opts]) for (const [k, e] of src ?? []) v[k.toLowerCase()] = e.value.trim();
    const missing = ['auth_address', 'user', 'key'].filter((k) => !v[k]);
    if (missing.length) invalid.set(name, `${missing.join(', ')} missing`);
    else refs.set(name, credentials(v, v.auth_version || c.authVersion));
  }
  return { refs, invalid };
}

function credentials(v: Record<string, string>, authVersion: string): SwiftCredentials {
  const opt = (k: string) => v[k] || null;
  const userDomainName = opt('user_domain_name');
  const projectDomainName = opt('project_domain_name');
  return {
    authAddress: normalizeAuthAddress(v.auth_address),
    user: v.user,
    key: v.key,
    authVersion: authVersion.trim(),
    userDomainId: opt('user_domain_id') ?? (userDomainName ? null : 'default'),
    userDomainName,
    projectDomainId: opt('project_domain_id') ?? (projectDomainName ? null : 'default'),
    projectDomainName,
  };
}

/** The reference to use, or why there is none (never naming the key). */
export function pickReference(r: SwiftReferences, name: string, configFile: string | null): SwiftCredentials | string {
  const found = r.refs.get(name.toLowerCase()) ?? r.refs.get(name);
  if (found) return found;
  const why = r.invalid.get(name.toLowerCase()) ?? r.invalid.get(name);
  if (!configFile) return `the swift store is not configured: ${why ?? 'no credentials'}`;
  if (why) return `reference [${name}] in swift_store_config_file ${configFile} is incomplete: ${why}`;
  const known = [...r.refs.keys()];
  return `swift_store_config_file ${configFile} has no reference [${name}] (default_swift_reference)${known.length ? `; it has ${known.join(', ')}` : ''}`;
}
