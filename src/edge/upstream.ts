import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

// Headers that describe one hop, never forwarded (RFC 9110 §7.6.1), plus Host, which names the upstream.
const HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

export function forwardableHeaders(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

/** The upstream went away or never answered: the API says 503. */
export class UpstreamDownError extends Error {}

/** One upstream Glance (or imaged): requests with the caller's headers, bounded time to the response headers. */
export class Upstream {
  private readonly base: URL;
  private readonly agent: http.Agent;
  constructor(baseUrl: string, private readonly timeoutMs: number) {
    this.base = new URL(baseUrl);
    const Agent = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 256 });
  }

  get url(): string {
    return this.base.toString().replace(/\/+$/, '');
  }

  request(method: string, pathAndQuery: string, headers: http.OutgoingHttpHeaders, body?: Readable): Promise<http.IncomingMessage> {
    const mod = this.base.protocol === 'https:' ? https : http;
    const target = new URL(this.base.pathname.replace(/\/+$/, '') + pathAndQuery, this.base);
    return new Promise((resolve, reject) => {
      const req = mod.request(target, { method, headers, agent: this.agent }, (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      const timer = setTimeout(() => req.destroy(new UpstreamDownError(`upstream ${this.url} did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e instanceof UpstreamDownError ? e : new UpstreamDownError(`upstream ${this.url} is unreachable: ${e.message}`));
      });
      if (body) {
        body.on('error', (e) => req.destroy(e));
        body.pipe(req);
      } else req.end();
    });
  }

  /** GET a JSON document; resolves with the status and the parsed body (or raw text). */
  async getJson(pathAndQuery: string, headers: http.OutgoingHttpHeaders): Promise<{ status: number; json: any; raw: Buffer; headers: http.IncomingHttpHeaders }> {
    const res = await this.request('GET', pathAndQuery, headers);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    let json: any;
    try {
      json = JSON.parse(raw.toString());
    } catch {
      json = undefined;
    }
    return { status: res.statusCode ?? 502, json, raw, headers: res.headers };
  }

  close() {
    this.agent.destroy();
  }
}
