// imaged's conversation with Keystone (Identity v3), as keystonemiddleware's: it authenticates itself with
// its [keystone_authtoken] password credentials (a project-scoped "service token"), then asks
// GET /v3/auth/tokens about each user token. Every call is bounded by http_connect_timeout; connection
// failures are retried (http_request_max_retries) inside that bound. Keystone not answering, or answering
// with anything but a verdict on the token, is KeystoneUnavailable: the request gets a 503, never a pass.
import type { Logger } from 'pino';
import type { KeystoneConfig } from '../config/index.js';

/** Keystone cannot give a verdict now (down, hanging, 5xx, refusing imaged's own credentials). */
export class KeystoneUnavailable extends Error {}

/** The "token" object of Keystone's token validation answer (the fields imaged reads). */
export interface KeystoneToken {
  expires_at: string;
  issued_at?: string;
  methods?: string[];
  user?: { id: string; name?: string; domain?: { id?: string; name?: string } };
  project?: { id: string; name?: string; domain?: { id?: string; name?: string } };
  domain?: { id: string; name?: string };
  system?: { all?: boolean };
  roles?: Array<{ id?: string; name: string }>;
  catalog?: CatalogEntry[];
  is_domain?: boolean;
}

interface CatalogEntry {
  type: string;
  endpoints?: Array<{ interface?: string; region_id?: string; region?: string; url: string }>;
}

/** Renew the service token this long before it expires (keystoneauth: 30 s), or after 3/4 of a shorter life. */
const RENEW_BEFORE_MS = 60_000;
/** keystoneauth's connect-retry schedule: 0.5 s, doubling. */
const FIRST_RETRY_DELAY_MS = 500;
const RETRIABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** Keystone's times are UTC, but some lack the zone ("2026-12-02T15:37:49" for application credentials). */
export function parseKeystoneTime(s: string | undefined): number {
  if (typeof s !== 'string') return NaN;
  return Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(s) ? s : `${s}Z`);
}

/** Keystone's v3 base URL from an auth_url or catalog URL: http://k:5000, …/v3/, …/v2.0 all give …/v3. */
export function v3Base(url: string): string {
  const u = url.replace(/\/+$/, '');
  if (/\/v3$/.test(u)) return u;
  if (/\/v2\.0$/.test(u)) return u.replace(/\/v2\.0$/, '/v3');
  return `${u}/v3`;
}

interface ServiceToken {
  token: string;
  /** ms epoch after which a new one is fetched before use */
  renewAt: number;
  /** where user tokens are validated: the catalog's identity endpoint for interface/region, else auth_url */
  identityUrl: string;
}

export class KeystoneClient {
  private service: ServiceToken | null = null;
  private authing: Promise<ServiceToken> | null = null;
  private readonly timeoutMs: number;
  /** Keystone requests made (validations and authentications): for tests and diagnostics. */
  calls = { validate: 0, authenticate: 0, get: 0 };

  constructor(private readonly o: KeystoneConfig, private readonly log: Logger) {
    this.timeoutMs = o.httpConnectTimeout * 1000;
  }

  /**
   * Keystone's verdict on a user token: its data, or null when Keystone says it is not valid (unknown,
   * expired, revoked, its user or project disabled). With allowExpired, an expired token is still described.
   */
  async validate(token: string, allowExpired: boolean): Promise<KeystoneToken | null> {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const svc = await this.serviceToken(deadline);
      const query = [this.o.includeServiceCatalog ? '' : 'nocatalog', allowExpired ? 'allow_expired=1' : ''].filter(Boolean).join('&');
      this.calls.validate++;
      const res = await this.send(`${svc.identityUrl}/auth/tokens${query ? `?${query}` : ''}`, deadline, {
        method: 'GET',
        headers: { 'X-Auth-Token': svc.token, 'X-Subject-Token': token, Accept: 'application/json' },
      });
      if (res.status === 200) {
        const body = await this.json(res);
        if (!body?.token || typeof body.token.expires_at !== 'string') throw new KeystoneUnavailable('Keystone answered the token validation with an unexpected body');
        return body.token as KeystoneToken;
      }
      await res.body?.cancel().catch(() => {});
      // 404: the subject token is not valid. Keystone says 404 for malformed tokens too, but be sure.
      if (res.status === 404 || res.status === 400) return null;
      if (res.status === 401 && attempt === 0) {
        // Our service token was refused (Keystone restarted with new fernet keys, or the token was revoked):
        // authenticate again, once.
        this.log.warn('Keystone refused imaged\'s service token; authenticating again');
        if (this.service === svc) this.service = null;
        continue;
      }
      if (res.status === 401) throw new KeystoneUnavailable('Keystone refused imaged\'s freshly issued service token');
      if (res.status === 403) throw new KeystoneUnavailable(`Keystone does not allow imaged's service user to validate tokens (HTTP 403); give it the admin or service role`);
      throw new KeystoneUnavailable(`Keystone answered the token validation with HTTP ${res.status}`);
    }
  }

  /**
   * GET an Identity API document with imaged's own token (path under /v3, e.g. /limits?project_id=…): its JSON,
   * or null on 404. A refused token is renewed once, like validate().
   */
  async get(pathUnderV3: string): Promise<any> {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const svc = await this.serviceToken(deadline);
      this.calls.get++;
      const res = await this.send(`${svc.identityUrl}${pathUnderV3}`, deadline, { method: 'GET', headers: { 'X-Auth-Token': svc.token, Accept: 'application/json' } });
      if (res.status === 200) return this.json(res);
      await res.body?.cancel().catch(() => {});
      if (res.status === 404) return null;
      if (res.status === 401 && attempt === 0) {
        if (this.service === svc) this.service = null;
        continue;
      }
      throw new KeystoneUnavailable(`Keystone answered GET ${pathUnderV3.split('?')[0]} with HTTP ${res.status}`);
    }
  }

  /** imaged's own token (renewed as needed): for calls imaged makes on its own behalf, e.g. edge prefetches. */
  async ownToken(): Promise<string> {
    return (await this.serviceToken(Date.now() + this.timeoutMs)).token;
  }

  /** Get the service token ahead of the first request; failures are logged, the next request tries again. */
  async warmUp(): Promise<void> {
    try {
      await this.serviceToken(Date.now() + this.timeoutMs);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'cannot authenticate to Keystone yet; requests will retry');
    }
  }

  /** Forget the service token (tests; also after a credentials change). */
  invalidate(): void {
    this.service = null;
  }

  private async serviceToken(deadline: number): Promise<ServiceToken> {
    const s = this.service;
    if (s && Date.now() < s.renewAt) return s;
    // single-flight: one authentication for everyone waiting
    if (!this.authing) {
      this.authing = this.authenticate(Math.max(deadline, Date.now() + this.timeoutMs)).then(
        (t) => ((this.service = t), t),
      ).finally(() => (this.authing = null));
    }
    return this.authing;
  }

  private async authenticate(deadline: number): Promise<ServiceToken> {
    const o = this.o;
    const domain = (id: string | null, name: string | null) => (id ? { id } : { name: name ?? 'Default' });
    const user = o.userId ? { id: o.userId, password: o.password } : { name: o.username, domain: domain(o.userDomainId, o.userDomainName), password: o.password };
    const scope = o.systemScope ? { system: { [o.systemScope]: true } }
      : { project: o.projectId ? { id: o.projectId } : { name: o.projectName, domain: domain(o.projectDomainId, o.projectDomainName) } };
    const body = { auth: { identity: { methods: ['password'], password: { user } }, scope } };
    this.calls.authenticate++;
    const res = await this.send(`${v3Base(o.authUrl)}/auth/tokens`, deadline, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 201 && res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      const who = o.userId ?? `${o.username}`;
      const msg = res.status === 401
        ? `Keystone refused imaged's credentials ([keystone_authtoken] user ${who})`
        : `Keystone answered imaged's authentication with HTTP ${res.status}`;
      this.log.error({ status: res.status, authUrl: o.authUrl }, msg);
      throw new KeystoneUnavailable(msg);
    }
    const token = res.headers.get('x-subject-token');
    const data = await this.json(res);
    const expiresAt = parseKeystoneTime(data?.token?.expires_at);
    if (!token || !Number.isFinite(expiresAt)) throw new KeystoneUnavailable('Keystone\'s authentication answer has no X-Subject-Token or expires_at');
    const identityUrl = this.identityEndpoint(data.token.catalog) ?? v3Base(o.authUrl);
    this.log.info({ identityUrl, expiresAt: data.token.expires_at }, 'authenticated to Keystone');
    const now = Date.now();
    return { token, renewAt: expiresAt - Math.min(RENEW_BEFORE_MS, Math.max(0, expiresAt - now) / 4), identityUrl };
  }

  /** As keystonemiddleware: the identity endpoint of the service token's catalog for [keystone_authtoken] interface and region_name. */
  private identityEndpoint(catalog: CatalogEntry[] | undefined): string | null {
    const svc = catalog?.find((e) => e.type === 'identity');
    const ep = svc?.endpoints?.find(
      (e) => e.interface === this.o.interface && (!this.o.regionName || e.region_id === this.o.regionName || e.region === this.o.regionName),
    );
    return ep?.url ? v3Base(ep.url) : null;
  }

  /** fetch with the deadline, retrying connection failures (not timeouts) while time remains. */
  private async send(url: string, deadline: number, init: RequestInit): Promise<Response> {
    let delay = FIRST_RETRY_DELAY_MS;
    for (let retries = 0; ; retries++) {
      const left = deadline - Date.now();
      if (left <= 0) throw new KeystoneUnavailable(`Keystone at ${url} did not answer within ${this.timeoutMs / 1000} s`);
      try {
        return await fetch(url, { ...init, signal: AbortSignal.timeout(left) });
      } catch (e: any) {
        if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
          throw new KeystoneUnavailable(`Keystone at ${new URL(url).origin} did not answer within ${this.timeoutMs / 1000} s`);
        }
        const code = e?.cause?.code ?? e?.code;
        const reason = `Keystone at ${new URL(url).origin} is unreachable: ${e?.cause?.message ?? e?.message ?? String(e)}`;
        if (!RETRIABLE.has(code) || retries >= this.o.httpRequestMaxRetries || Date.now() + delay >= deadline) throw new KeystoneUnavailable(reason);
        this.log.debug({ code, retries }, 'Keystone connection failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
    }
  }

  /** The body, read under the request's deadline (fetch's signal covers the body too). */
  private async json(res: Response): Promise<any> {
    try {
      return await res.json();
    } catch (e: any) {
      if (e?.name === 'TimeoutError' || e?.name === 'AbortError') throw new KeystoneUnavailable(`Keystone did not finish its answer within ${this.timeoutMs / 1000} s`);
      throw new KeystoneUnavailable(`Keystone's answer is not JSON: ${e?.message ?? e}`);
    }
  }
}
