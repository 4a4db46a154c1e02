// glance_store's swift locations (single-tenant store):
//   swift+config://<reference>/<container>/<object>          with swift_store_config_file: no credentials stored
//   swift+http://<user>:<key>@<auth host/path>/<container>/<object>   credentials in the URL, each URL-quoted
//   swift+https://… (and swift://…, which means https) likewise for an https auth address.

export interface SwiftLocation {
  /** swift+config: the reference name in swift_store_config_file */
  reference: string | null;
  /** credential URLs: the auth address with its scheme (http:// or https://), no trailing '/' */
  authAddress: string | null;
  user: string | null;
  key: string | null;
  container: string;
  object: string;
}

/**
 * Python's urllib.parse.quote, which glance uses for the user and key, except that '/' is quoted too: glance
 * leaves it (safe='/') and then cannot parse its own URL back; its unquote reads ours fine.
 */
function pyQuote(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export function formatSwiftConfigUrl(reference: string, container: string, object: string): string {
  return `swift+config://${reference}/${trimSlashes(container)}/${trimSlashes(object)}`;
}

export function formatSwiftCredentialUrl(authAddress: string, user: string, key: string, container: string, object: string): string {
  const scheme = authAddress.startsWith('http://') ? 'swift+http' : 'swift+https';
  const rest = trimSlashes(authAddress.replace(/^https?:\/\//, ''));
  return `${scheme}://${pyQuote(user)}:${pyQuote(key)}@${rest}/${trimSlashes(container)}/${trimSlashes(object)}`;
}

export function parseSwiftUrl(url: string): SwiftLocation | null {
  const m = /^(swift|swift\+http|swift\+https|swift\+config):\/\/(.*)$/.exec(url);
  // like glance, refuse swift://user:key@http://… (two schemes)
  if (!m || m[2].includes('://')) return null;
  const scheme = m[1];
  const slash = m[2].indexOf('/');
  if (slash <= 0) return null;
  const netloc = m[2].slice(0, slash);
  const parts = m[2].slice(slash + 1).replace(/^\/+/, '').split('/');
  const object = parts.pop();
  const container = parts.pop();
  if (!object || !container) return null;
  if (scheme === 'swift+config') {
    return { reference: netloc, authAddress: null, user: null, key: null, container, object };
  }
  let user: string | null = null;
  let key: string | null = null;
  let host = netloc;
  const at = netloc.lastIndexOf('@');
  if (at >= 0) {
    const creds = netloc.slice(0, at);
    host = netloc.slice(at + 1);
    // the key follows the last raw ':'; the user may itself be "account:user"
    const colon = creds.lastIndexOf(':');
    if (colon < 0) return null;
    try {
      user = decodeURIComponent(creds.slice(0, colon));
      key = decodeURIComponent(creds.slice(colon + 1));
    } catch {
      return null;
    }
  }
  if (!host) return null;
  const authScheme = scheme === 'swift+http' ? 'http://' : 'https://';
  return { reference: null, authAddress: normalizeAuthAddress(authScheme + [host, ...parts].join('/')), user, key, container, object };
}

/** Auth addresses compare without case in scheme/host and without trailing slashes; no scheme means https (glance). */
export function normalizeAuthAddress(a: string): string {
  let s = a.trim();
  if (!/^https?:\/\//i.test(s)) s = `https://${s}`;
  const m = /^(https?:\/\/)([^/]*)(.*)$/i.exec(s)!;
  return `${m[1].toLowerCase()}${m[2].toLowerCase()}${m[3].replace(/\/+$/, '')}`;
}

/** The URL without its credentials, for messages and logs. */
export function redactSwiftUrl(url: string): string {
  return url.replace(/^(swift(?:\+https?)?:\/\/)[^/]*@/, '$1***@');
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}
