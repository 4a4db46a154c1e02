// The [imaged] section: options glance has no equivalent for (the
// authentication choice is auth.ts's).
import path from 'node:path';
import type { OptionReader } from './reader.js';
import { IMAGED_OPTS } from './schema.js';
import type { ImagedOptions, LogLevel } from './types.js';

/** @param glanceDebug [DEFAULT] debug, already read; @param auth from readAuth() */
export function readImaged(r: OptionReader, glanceDebug: boolean, auth: ImagedOptions['auth']): ImagedOptions {
  const o = r.readAll('imaged', IMAGED_OPTS);
  for (const name of ['state_dir', 'noauth_project_id', 'noauth_user_id'] as const) {
    if (r.isSet('imaged', name) && o[name].trim() === '') r.error('imaged', name, 'must not be empty');
  }
  return {
    stateDir: path.resolve(o.state_dir.trim() || IMAGED_OPTS.state_dir.default),
    serviceUid: o.service_uid,
    serviceGid: o.service_gid,
    auth,
    noauthProject: o.noauth_project_id,
    noauthUser: o.noauth_user_id,
    noauthRoles: o.noauth_roles,
    trustContextHeaders: o.noauth_trust_headers,
    // an explicit log_level wins; otherwise glance's debug = True means debug
    logLevel: r.isSet('imaged', 'log_level') ? (o.log_level as LogLevel) : glanceDebug ? 'debug' : 'info',
    sendfile: o.sendfile,
    sendThreads: readSendThreads(r, o.send_threads),
    tcpNopush: o.tcp_nopush,
    hashWorkers: o.hash_in_workers,
    upstream: readUpstream(r, o.upstream),
    upstreamGracePeriod: o.upstream_grace_period,
    upstreamTimeout: o.upstream_timeout,
    drainTimeout: o.drain_timeout,
  };
}

function readSendThreads(r: OptionReader, raw: string): number | null {
  const v = raw.trim().toLowerCase();
  if (v === 'auto' || v === '') return null;
  if (!/^\d+$/.test(v) || Number(v) > 16) {
    r.error('imaged', 'send_threads', `invalid value "${raw}": expected auto or a number of threads from 0 (send from the event loop) to 16`);
    return null;
  }
  return Number(v);
}

function readUpstream(r: OptionReader, raw: string): string | null {
  const v = raw.trim();
  if (!v) return null;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    r.error('imaged', 'upstream', `invalid value "${v}": expected a URL such as http://glance-api:9292`);
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    r.error('imaged', 'upstream', `invalid value "${v}": only http:// and https:// upstreams are supported`);
    return null;
  }
  return v.replace(/\/+$/, '');
}
