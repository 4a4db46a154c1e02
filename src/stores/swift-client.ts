// A small Swift client on node:http(s): auth v1 (tempauth/swauth), v2 and v3 (Keystone password auth),
// token reuse, and one re-authentication + retry when Swift answers 401 (expired or flushed token).
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { SwiftCredentials } from './swift-refs.js';

export interface SwiftClientOptions {
  insecure: boolean;
  region: string;
  /** publicURL | internalURL | adminURL (v2 names; v3 interfaces are derived) */
  endpointType: string;
  serviceType: string;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
}

export interface SwiftResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Swift answered with a status the caller did not expect. */
export class SwiftHttpError extends Error {
  constructor(
    public readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The auth service refused the credentials or failed. */
export class SwiftAuthError extends Error {}

const AUTH_TIMEOUT_MS = 15_000;
const HEADERS_TIMEOUT_MS = 60_000; // Swift's own node_timeout/client_timeout are 10/60 s
const CONTINUE_WAIT_MS = 10_000; // a server that ignores Expect: 100-continue gets the body after this
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'ESWIFTTIMEOUT']);

/** Swift or its auth service cannot be reached (as opposed to answering with an error). */
export function isNetworkError(e: unknown): boolean {
  return NETWORK_CODES.has((e as NodeJS.ErrnoException)?.code ?? '');
}

const timeoutError = (what: string) => Object.assign(new Error(`${what} timed out`), { code: 'ESWIFTTIMEOUT' });

export class SwiftClient {
  private token: string | null = null;
  private storageUrl: string | null = null;
  private authing: Promise<void> | null = null;

  constructor(
    readonly creds: SwiftCredentials,
    private readonly o: SwiftClientOptions,
  ) {}

  /** "<auth address> as <user>": for messages (never the key). */
  describe(): string {
    return `${this.creds.authAddress} as ${this.creds.user} (auth version ${this.creds.authVersion})`;
  }

  get authenticated(): boolean {
    return this.token !== null;
  }

  /** A token and storage URL; re-authenticates when none is held or `stale` is the one a request was refused with. */
  async session(stale?: string): Promise<{ token: string; storageUrl: string }> {
    if (this.token === null || this.token === stale) {
      // concurrent callers share one authentication
      if (!this.authing) this.authing = this.authenticate().finally(() => (this.authing = null));
      await this.authing;
    }
    return { token: this.token!, storageUrl: this.storageUrl! };
  }

  private async authenticate(): Promise<void> {
    this.token = null;
    const r = this.creds.authVersion === '1' ? await this.authV1() : this.creds.authVersion === '2' ? await this.authV2() : await this.authV3();
    this.token = r.token;
    this.storageUrl = r.storageUrl.replace(/\/+$/, '');
  }

  private async authV1() {
    const r = await send(this.o, 'GET', new URL(this.creds.authAddress), { 'X-Auth-User': this.creds.user, 'X-Auth-Key': this.creds.key }, null, AUTH_TIMEOUT_MS);
    if (r.status === 401 || r.status === 403) throw new SwiftAuthError(`the credentials were refused (HTTP ${r.status})`);
    if (r.status < 200 || r.status > 299) throw new SwiftAuthError(`the auth service answered HTTP ${r.status}`);
    const token = header(r.headers, 'x-auth-token') ?? header(r.headers, 'x-storage-token');
    const storageUrl = header(r.headers, 'x-storage-url');
    if (!token || !storageUrl) throw new SwiftAuthError('the auth answer has no X-Auth-Token or X-Storage-Url');
    return { token, storageUrl };
  }

  /** glance's form: "project:user" (a bare user authenticates unscoped and finds no Swift endpoint). */
  private projectAndUser(): [string | null, string] {
    const i = this.creds.user.indexOf(':');
    return i < 0 ? [null, this.creds.user] : [this.creds.user.slice(0, i), this.creds.user.slice(i + 1)];
  }

  private async authV2() {
    const [tenantName, username] = this.projectAndUser();
    const body = { auth: { tenantName: tenantName ?? undefined, passwordCredentials: { username, password: this.creds.key } } };
    const r = await this.postJson(keystoneUrl(this.creds.authAddress, 'v2.0', '/tokens'), body);
    const j = JSON.parse(r.body.toString('utf8'));
    const token: string | undefined = j?.access?.token?.id;
    if (!token) throw new SwiftAuthError('the Keystone v2 answer has no token');
    const want = this.o.endpointType || 'publicURL';
    for (const svc of j.access.serviceCatalog ?? []) {
      if (svc.type !== (this.o.serviceType || 'object-store')) continue;
      for (const ep of svc.endpoints ?? []) {
        if (this.o.region && ep.region !== this.o.region) continue;
        if (ep[want]) return { token, storageUrl: ep[want] as string };
      }
    }
    throw new SwiftAuthError(`no ${this.o.serviceType} ${want} endpoint${this.o.region ? ` in region ${this.o.region}` : ''} in the Keystone catalog`);
  }

  private async authV3() {
    const [project, name] = this.projectAndUser();
    const c = this.creds;
    const domain = (id: string | null, nm: string | null) => (id ? { id } : { name: nm });
    const body = {
      auth: {
        identity: { methods: ['password'], password: { user: { name, password: c.key, domain: domain(c.userDomainId, c.userDomainName) } } },
        scope: project ? { project: { name: project, domain: domain(c.projectDomainId, c.projectDomainName) } } : undefined,
      },
    };
    const r = await this.postJson(keystoneUrl(c.authAddress, 'v3', '/auth/tokens'), body);
    const token = header(r.headers, 'x-subject-token');
    if (!token) throw new SwiftAuthError('the Keystone v3 answer has no X-Subject-Token');
    const j = JSON.parse(r.body.toString('utf8'));
    const iface = (this.o.endpointType || 'publicURL').replace(/URL$/, '');
    for (const svc of j?.token?.catalog ?? []) {
      if (svc.type !== (this.o.serviceType || 'object-store')) continue;
      for (const ep of svc.endpoints ?? []) {
        if (ep.interface !== iface) continue;
        if (this.o.region && ep.region !== this.o.region && ep.region_id !== this.o.region) continue;
        return { token, storageUrl: ep.url as string };
      }
    }
    throw new SwiftAuthError(`no ${this.o.serviceType} ${iface} endpoint${this.o.region ? ` in region ${this.o.region}` : ''} in the Keystone catalog`);
  }

  private async postJson(url: URL, body: unknown): Promise<SwiftResponse> {
    const r = await send(this.o, 'POST', url, { 'Content-Type': 'application/json' }, Buffer.from(JSON.stringify(body)), AUTH_TIMEOUT_MS);
    if (r.status === 401 || r.status === 403) throw new SwiftAuthError(`the credentials were refused (HTTP ${r.status})`);
    if (r.status < 200 || r.status > 299) throw new SwiftAuthError(`Keystone answered HTTP ${r.status}`);
    return r;
  }

  /** A request with a small (or no) body, answer read whole. Retried once after a 401 or a dead keep-alive socket. */
  async call(method: string, path: string, headers: Record<string, string> = {}, body: Buffer | null = null): Promise<SwiftResponse> {
    let stale: string | undefined;
    for (let attempt = 0; ; attempt++) {
      const s = await this.session(stale);
      let r: SwiftResponse;
      try {
        r = await send(this.o, method, new URL(s.storageUrl + path), { ...headers, 'X-Auth-Token': s.token }, body, HEADERS_TIMEOUT_MS);
      } catch (e) {
        if (attempt === 0 && (e as { reusedSocket?: boolean }).reusedSocket) continue;
        throw e;
      }
      if (r.status === 401 && attempt === 0) {
        stale = s.token;
        continue;
      }
      return r;
    }
  }

  /** A streaming GET: the response with its body unread (status checked by the caller). */
  async get(path: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
    let stale: string | undefined;
    for (let attempt = 0; ; attempt++) {
      const s = await this.session(stale);
      const req = request(this.o, 'GET', new URL(s.storageUrl + path), { ...headers, 'X-Auth-Token': s.token });
      req.end();
      let res: IncomingMessage;
      try {
        res = await responseOf(req, HEADERS_TIMEOUT_MS);
      } catch (e) {
        if (attempt === 0 && req.reusedSocket) continue;
        throw e;
      }
      if (res.statusCode === 401 && attempt === 0) {
        res.resume();
        stale = s.token;
        continue;
      }
      return res;
    }
  }

  /**
   * Starts a streaming PUT. Sends `Expect: 100-continue` and waits for Swift's go-ahead, so a refused token
   * (401) costs no body bytes: the PUT is retried after re-authenticating. Other refusals throw SwiftHttpError.
   */
  async put(path: string, headers: Record<string, string>): Promise<SwiftPut> {
    let stale: string | undefined;
    for (let attempt = 0; ; attempt++) {
      const s = await this.session(stale);
      const req = request(this.o, 'PUT', new URL(s.storageUrl + path), { ...headers, 'X-Auth-Token': s.token, Expect: '100-continue' });
      const put = new SwiftPut(req, path);
      let early: IncomingMessage | null;
      try {
        early = await put.started();
      } catch (e) {
        req.destroy();
        if (attempt === 0 && req.reusedSocket) continue;
        throw e;
      }
      if (!early) return put;
      const text = (await readAll(early).catch(() => Buffer.alloc(0))).toString('utf8').slice(0, 300);
      req.destroy();
      if (early.statusCode === 401 && attempt === 0) {
        stale = s.token;
        continue;
      }
      throw new SwiftHttpError(early.statusCode!, `PUT ${decodeURI(path)}: Swift answered HTTP ${early.statusCode} ${text.trim()}`);
    }
  }
}

/** One PUT whose body is being streamed. write() resolves once the bytes are handed to the socket. */
export class SwiftPut {
  private failure: Error | null = null;
  private response: IncomingMessage | null = null;
  private ended = false;
  private waiters = new Set<(e: Error) => void>();

  constructor(
    private readonly req: http.ClientRequest,
    private readonly path: string,
  ) {
    req.on('error', (e) => this.fail(e));
    req.on('response', (res) => {
      this.response = res;
      if (!this.ended) this.fail(new SwiftHttpError(res.statusCode!, `PUT ${decodeURI(path)}: Swift answered HTTP ${res.statusCode} before the body ended`));
    });
    req.on('close', () => {
      if (!this.ended && !this.response) this.fail(Object.assign(new Error(`PUT ${decodeURI(path)}: connection closed`), { code: 'ECONNRESET' }));
    });
  }

  private fail(e: Error) {
    if (this.failure) return;
    this.failure = e;
    for (const w of this.waiters) w(e);
  }

  /** Resolves null on 100 Continue (or when the server ignores Expect), or the early final response. */
  started(): Promise<IncomingMessage | null> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(null), CONTINUE_WAIT_MS);
      const done = (v: IncomingMessage | null, e?: Error) => {
        clearTimeout(timer);
        this.req.off('continue', onContinue);
        this.req.off('response', onResponse);
        this.waiters.delete(onFail);
        if (e) reject(e);
        else resolve(v);
      };
      const onContinue = () => done(null);
      const onResponse = (res: IncomingMessage) => done(res);
      const onFail = (e: Error) => {
        if (!this.response) done(null, e);
      };
      this.req.once('continue', onContinue);
      this.req.once('response', onResponse);
      this.waiters.add(onFail);
      this.req.flushHeaders();
    });
  }

  write(buf: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const onFail = (e: Error) => {
        this.waiters.delete(onFail);
        reject(e);
      };
      this.waiters.add(onFail);
      this.req.write(buf, (err) => {
        this.waiters.delete(onFail);
        if (err) reject(err);
        else if (this.failure) reject(this.failure);
        else resolve();
      });
    });
  }

  /** Ends the body and returns Swift's answer (any status). */
  async end(timeoutMs = 300_000): Promise<SwiftResponse> {
    if (this.failure && !this.response) throw this.failure;
    this.ended = true;
    const early = this.response; // answered before the body ended: the request can only be dropped
    const res = early ?? (await new Promise<IncomingMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.req.destroy(timeoutError(`PUT ${decodeURI(this.path)}`));
      }, timeoutMs);
      this.req.once('response', (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.waiters.add((e) => {
        clearTimeout(timer);
        reject(e);
      });
      this.req.end();
    }));
    const body = await readAll(res);
    if (early) this.req.destroy();
    return { status: res.statusCode!, headers: res.headers, body };
  }

  destroy() {
    this.ended = true;
    this.fail(new Error(`PUT ${decodeURI(this.path)}: abandoned`)); // a write waiting on the socket must not hang
    this.req.destroy();
  }
}

function request(o: SwiftClientOptions, method: string, url: URL, headers: Record<string, string>): http.ClientRequest {
  const opts = { method, headers, agent: url.protocol === 'https:' ? o.httpsAgent : o.httpAgent };
  return url.protocol === 'https:' ? https.request(url, { ...opts, rejectUnauthorized: !o.insecure }) : http.request(url, opts);
}

/** The response headers, or an error (reusedSocket marks a dead keep-alive connection, safe to retry). */
function responseOf(req: http.ClientRequest, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => req.destroy(timeoutError(`${req.method} ${req.path}`)), timeoutMs);
    req.once('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.once('error', (e) => {
      clearTimeout(timer);
      reject(Object.assign(e, { reusedSocket: req.reusedSocket }));
    });
  });
}

async function send(o: SwiftClientOptions, method: string, url: URL, headers: Record<string, string>, body: Buffer | null, timeoutMs: number): Promise<SwiftResponse> {
  const h = { ...headers };
  if (body || method === 'PUT' || method === 'POST') h['Content-Length'] = String(body?.length ?? 0);
  const req = request(o, method, url, h);
  req.end(body ?? undefined);
  const res = await responseOf(req, timeoutMs);
  return { status: res.statusCode!, headers: res.headers, body: await readAll(res) };
}

export function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    res.on('data', (d: Buffer) => parts.push(d));
    res.on('end', () => resolve(Buffer.concat(parts)));
    res.on('error', reject);
  });
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Keystone's URL for `suffix`, whether the auth address names the version or not. */
function keystoneUrl(authAddress: string, version: string, suffix: string): URL {
  const base = authAddress.replace(/\/+$/, '');
  return new URL((base.endsWith(`/${version}`) ? base : `${base}/${version}`) + suffix);
}
