import dns from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { ImportFilterConfig } from '../config/index.js';
import { badRequest } from '../util/errors.js';

const MAX_REDIRECTS = 5;

/** Loopback, private, link-local, unique-local, unspecified and CGNAT ranges: never fetched unless allowed. */
export function isInternalAddress(ip: string): boolean {
  if (net.isIPv4(ip)) {
    const [a, b] = ip.split('.').map(Number);
    return a === 127 || a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
      (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
  }
  const l = ip.toLowerCase();
  if (l.startsWith('::ffff:')) return isInternalAddress(l.slice(7));
  return l === '::1' || l === '::' || l.startsWith('fe80:') || l.startsWith('fc') || l.startsWith('fd') || l.startsWith('ff');
}

/**
 * Checks a web-download URL against Glance's [import_filtering_opts] and resolves its host; internal addresses
 * are refused unless the host is explicitly allowed. Returns the address to connect to (so a second DNS answer
 * cannot point the request somewhere else).
 */
export async function checkUrl(raw: string, f: ImportFilterConfig): Promise<{ url: URL; address: string; family: number }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest(`Invalid web-download URI: ${raw}`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== 'http' && scheme !== 'https') throw badRequest(`web-download only fetches http and https URIs, not ${scheme}`);
  if (f.disallowedSchemes.includes(scheme) || (f.allowedSchemes.length && !f.allowedSchemes.includes(scheme))) {
    throw badRequest(`URI scheme ${scheme} is not allowed for web-download`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (f.disallowedHosts.includes(host) || (f.allowedHosts.length && !f.allowedHosts.includes(host))) {
    throw badRequest(`Host ${host} is not allowed for web-download`);
  }
  const port = url.port ? Number(url.port) : scheme === 'https' ? 443 : 80;
  if (f.disallowedPorts.includes(port) || (f.allowedPorts.length && !f.allowedPorts.includes(port))) {
    throw badRequest(`Port ${port} is not allowed for web-download`);
  }
  let address: string;
  let family: number;
  if (net.isIP(host)) {
    address = host;
    family = net.isIP(host);
  } else {
    try {
      ({ address, family } = await dns.lookup(host));
    } catch {
      throw badRequest(`Cannot resolve host ${host} for web-download`);
    }
  }
  if (isInternalAddress(address) && !f.allowedHosts.includes(host)) {
    throw badRequest(`Host ${host} resolves to an internal address (${address}); list it in [import_filtering_opts] allowed_hosts to fetch from it`);
  }
  return { url, address, family };
}

/** GETs a checked URL, following redirects only to URLs that pass the same checks. */
export async function fetchChecked(raw: string, f: ImportFilterConfig, timeoutMs = 30_000): Promise<http.IncomingMessage> {
  let current = raw;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const { url, address, family } = await checkUrl(current, f);
    const mod = url.protocol === 'https:' ? https : http;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = mod.get(url, { lookup: (_h, _o, cb) => (cb as any)(null, address, family), timeout: timeoutMs }, resolve);
      req.on('timeout', () => req.destroy(new Error(`no answer from ${url.host} within ${timeoutMs} ms`)));
      req.on('error', reject);
    });
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      current = new URL(res.headers.location, url).toString();
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new Error(`web-download of ${url} answered HTTP ${status}`);
    }
    return res;
  }
  throw new Error(`web-download of ${raw}: more than ${MAX_REDIRECTS} redirects`);
}
