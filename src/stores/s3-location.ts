// glance_store's S3 location: s3://<access>:<secret>@<host[:port]>/<bucket>/<key>, or s3+https:// when the
// endpoint is HTTPS. Nothing is URL-quoted (glance writes the keys raw), so a secret may contain '/'.

export interface S3Location {
  scheme: 's3' | 's3+http' | 's3+https';
  accessKey: string | null;
  secretKey: string | null;
  host: string; // without scheme, e.g. 127.0.0.1:7480 (may carry a path prefix, as glance allows)
  bucket: string;
  key: string;
}

const SCHEMES = ['s3', 's3+http', 's3+https'] as const;

/** The endpoint as glance puts it in locations: scheme dropped, no slashes at either end. */
export function locationHost(endpoint: string): string {
  return endpoint.replace(/^https?:\/\//, '').replace(/^\/+|\/+$/g, '');
}

export function formatS3Url(endpoint: string, accessKey: string, secretKey: string, bucket: string, key: string): string {
  const scheme = endpoint.startsWith('https://') ? 's3+https' : 's3';
  return `${scheme}://${accessKey}:${secretKey}@${locationHost(endpoint)}/${bucket}/${key}`;
}

export function parseS3Url(url: string): S3Location | null {
  const m = /^([a-z0-9+]+):\/\/(.*)$/.exec(url);
  if (!m || !(SCHEMES as readonly string[]).includes(m[1]) || m[2].includes('://')) return null;
  let rest = m[2];
  let accessKey: string | null = null;
  let secretKey: string | null = null;
  const at = rest.lastIndexOf('@'); // the secret may hold '/', so credentials end at the last '@'
  if (at >= 0) {
    const creds = rest.slice(0, at);
    const colon = creds.indexOf(':');
    if (colon < 0) return null;
    accessKey = creds.slice(0, colon);
    secretKey = creds.slice(colon + 1);
    rest = rest.slice(at + 1);
  }
  const parts = rest.replace(/^\/+|\/+$/g, '').split('/');
  if (parts.length < 3) return null;
  const key = parts.pop()!;
  const bucket = parts.pop()!;
  const host = parts.join('/');
  if (!key || !bucket || !host) return null;
  return { scheme: m[1] as S3Location['scheme'], accessKey, secretKey, host, bucket, key };
}

/** Same endpoint, ignoring case and a port that is the scheme's default. */
export function sameHost(a: string, b: string): boolean {
  const norm = (h: string) => h.toLowerCase().replace(/:(80|443)(?=\/|$)/, '');
  return norm(a) === norm(b);
}
