// Keystone authentication of requests, as keystonemiddleware's auth_token + glance's ContextMiddleware:
// X-Auth-Token (and optionally X-Service-Token) → a RequestContext, or a 401 (no/invalid token) or a 503
// (Keystone cannot say). Validated tokens are cached for min(expires_at, token_cache_time): a revoked token
// keeps working until its entry ends, as with keystonemiddleware. Tokens Keystone calls invalid are
// remembered for a few seconds (NEGATIVE_TTL_MS) so a client retrying a dead token does not hammer Keystone.
import type { Logger } from 'pino';
import type { KeystoneConfig } from '../config/index.js';
import { HttpError, renderError } from '../util/errors.js';
import type { RequestContext } from './context.js';
import { KeystoneClient, KeystoneUnavailable, parseKeystoneTime, type KeystoneToken } from './keystone-client.js';
import { TokenCache, tokenKey } from './token-cache.js';

/** The identity part of a RequestContext, as a validated token gives it (shared by every request with it). */
export interface TokenIdentity {
  userId: string | null;
  userName: string | null;
  userDomainId: string | null;
  projectId: string | null;
  projectName: string | null;
  projectDomainId: string | null;
  domainId: string | null;
  systemScope: string | null;
  roles: string[];
  isAdmin: boolean;
  serviceCatalog: unknown[] | null;
  /** ms epoch */
  expiresAt: number;
}

/** A token longer than this is refused without asking Keystone (fernet tokens are < 256 bytes, JWS ~ 1 KiB). */
export const MAX_TOKEN_LENGTH = 8192;
/** Visible ASCII only: anything else cannot be a Keystone token (and cannot be put in a header to Keystone). */
const TOKEN_SYNTAX = /^[\x21-\x7e]+$/;
const NEGATIVE_TTL_MS = 5_000;

/** No valid credentials: the caller is told where to get a token (WWW-Authenticate). */
export class Unauthenticated extends Error {}

export class KeystoneAuth {
  readonly client: KeystoneClient;
  private readonly valid = new TokenCache<TokenIdentity>();
  private readonly invalid = new TokenCache<true>();
  private readonly flights = new Map<string, Promise<TokenIdentity | null>>();
  private readonly ttlMs: number;

  constructor(private readonly o: KeystoneConfig, private readonly log: Logger, client?: KeystoneClient) {
    this.client = client ?? new KeystoneClient(o, log);
    this.ttlMs = o.tokenCacheTime > 0 ? o.tokenCacheTime * 1000 : 0;
  }

  /** The request's context; throws Unauthenticated (→ 401) or HttpError 503. */
  async authenticate(userToken: string | undefined, serviceToken: string | undefined, requestId: string): Promise<RequestContext> {
    try {
      let allowExpired = false;
      if (serviceToken !== undefined) {
        // As keystonemiddleware: an invalid service token fails the request; a valid one with a service role
        // lets the user token be expired (long operations started before it expired).
        const svc = await this.identity(serviceToken, false);
        if (!svc) throw new Unauthenticated('invalid X-Service-Token');
        const hasRole = svc.roles.some((r) => this.o.serviceTokenRoles.includes(r));
        if (this.o.serviceTokenRolesRequired && !hasRole) throw new Unauthenticated(`X-Service-Token has none of the service_token_roles (${this.o.serviceTokenRoles.join(', ')})`);
        allowExpired = hasRole;
      }
      if (userToken === undefined) throw new Unauthenticated('no X-Auth-Token');
      const id = await this.identity(userToken, allowExpired);
      if (!id) throw new Unauthenticated('invalid X-Auth-Token');
      return {
        projectId: id.projectId, userId: id.userId, roles: id.roles, isAdmin: id.isAdmin, requestId,
        projectName: id.projectName, projectDomainId: id.projectDomainId, userName: id.userName, userDomainId: id.userDomainId,
        domainId: id.domainId, systemScope: id.systemScope, authToken: userToken.trim(), serviceCatalog: id.serviceCatalog,
      };
    } catch (e) {
      if (e instanceof KeystoneUnavailable) {
        this.log.error({ err: e.message }, 'cannot validate a token');
        throw new HttpError(503, `The Keystone service is temporarily unavailable: ${e.message}`);
      }
      throw e;
    }
  }

  /** What a token stands for, from the cache or Keystone; null when not valid (now). */
  private async identity(raw: string, allowExpired: boolean): Promise<TokenIdentity | null> {
    const token = raw.trim(); // keystonemiddleware strips it too (clients sending "token\n")
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !TOKEN_SYNTAX.test(token)) return null;
    const key = tokenKey(token);
    const now = Date.now();
    const hit = this.valid.get(key, now);
    if (hit && (allowExpired || now < hit.expiresAt)) return hit;
    // an expired token is invalid alone but may be valid with a service token: separate verdicts
    const negKey = allowExpired ? `${key}+expired` : key;
    if (this.invalid.get(negKey, now)) return null;
    // single-flight per (token, allowExpired): a burst with one new token makes one Keystone call
    let flight = this.flights.get(negKey);
    if (!flight) {
      flight = this.lookup(token, key, negKey, allowExpired).finally(() => this.flights.delete(negKey));
      this.flights.set(negKey, flight);
    }
    return flight;
  }

  private async lookup(token: string, key: string, negKey: string, allowExpired: boolean): Promise<TokenIdentity | null> {
    const data = await this.client.validate(token, allowExpired);
    const id = data ? toIdentity(data, this.o.includeServiceCatalog) : null;
    const now = Date.now();
    if (!id || (!allowExpired && id.expiresAt <= now)) {
      this.invalid.set(negKey, true, now + NEGATIVE_TTL_MS);
      return null;
    }
    // Under the plain key whichever way it was validated: the expiry check on a hit tells the two apart.
    if (this.ttlMs > 0) this.valid.set(key, id, allowExpired ? now + this.ttlMs : Math.min(id.expiresAt, now + this.ttlMs));
    return id;
  }

  /** Forget every validated token (tests; `imaged` has no revocation feed). */
  flush(): void {
    this.valid.clear();
    this.invalid.clear();
  }

  /** The 401 glance sends: its own (delay_auth_decision, Debian's paste ini) or keystonemiddleware's JSON. */
  unauthorized(accept: string | undefined): { status: 401; type: string; body: string; headers: Record<string, string> } {
    const headers = { 'WWW-Authenticate': `Keystone uri="${this.o.wwwAuthenticateUri}"` };
    if (!this.o.delayAuthDecision) {
      const body = JSON.stringify({ error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });
      return { status: 401, type: 'application/json', body, headers };
    }
    const { type, body } = renderError(401, UNAUTHORIZED_EXPLANATION, accept);
    return { status: 401, type, body, headers };
  }
}

/** webob's HTTPUnauthorized text, which glance's ContextMiddleware answers with. */
const UNAUTHORIZED_EXPLANATION =
  'This server could not verify that you are authorized to access the document you requested. Either you supplied the ' +
  'wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.';

/** Keystone's token document → what the request context needs (roles lowercased, as glance does). */
export function toIdentity(t: KeystoneToken, withCatalog: boolean): TokenIdentity | null {
  const expiresAt = parseKeystoneTime(t.expires_at);
  if (!Number.isFinite(expiresAt) || !t.user?.id) return null;
  const roles = (t.roles ?? []).map((r) => String(r.name).toLowerCase());
  return {
    userId: t.user.id,
    userName: t.user.name ?? null,
    userDomainId: t.user.domain?.id ?? null,
    projectId: t.project?.id ?? null,
    projectName: t.project?.name ?? null,
    projectDomainId: t.project?.domain?.id ?? null,
    domainId: t.domain?.id ?? null,
    systemScope: t.system?.all ? 'all' : null,
    roles,
    isAdmin: roles.includes('admin'),
    serviceCatalog: withCatalog && Array.isArray(t.catalog) ? t.catalog : null,
    expiresAt,
  };
}
