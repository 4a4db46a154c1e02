import { finished } from 'node:stream';
import { Hono } from 'hono';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Database } from 'lmdb';
import type { Logger } from 'pino';
import type { ImageCache } from '../cache/cache.js';
import type { ImageRecord } from '../images/record.js';
import type { StoreRegistry } from '../stores/registry.js';
import type { Env } from '../api/env.js';
import { serveBytes } from '../api/serve.js';
import { HttpError, unavailable } from '../util/errors.js';
import { isUuid } from '../util/uuid.js';
import { redactUrl } from '../util/redact.js';
import { Upstream, UpstreamDownError, forwardableHeaders } from './upstream.js';

export interface EdgeOptions {
  upstream: Upstream;
  cache: ImageCache;
  stores: StoreRegistry;
  seen: Database<SeenImage, string>;
  gracePeriodSec: number;
  sendfile: boolean;
  log: Logger;
}

/** The last metadata the upstream gave for an image, so cached bytes outlive a short upstream outage. */
export interface SeenImage {
  at: number;
  img: ImageRecord;
}

/**
 * Edge mode: the whole Images API is the upstream's (each call forwarded with the caller's headers, token
 * included), except GET /v2/images/{id}/file: the upstream is asked for the image first (so it decides access
 * and a deleted or deactivated image stops being served), then the bytes come from the local cache, filled once
 * from the upstream's /file (or directly from Ceph when the location is rbd:// and this node has that cluster).
 */
export function edgeRoutes(o: EdgeOptions) {
  const app = new Hono<Env>();

  app.get('/v2/images/:id/file', async (c) => {
    if (c.req.method === 'HEAD') return proxy(c.env.incoming, c.env.outgoing, o);
    const id = c.req.param('id');
    if (!isUuid(id)) return proxy(c.env.incoming, c.env.outgoing, o);
    const headers = forwardableHeaders(c.env.incoming.headers);
    delete headers['range'];
    delete headers['content-range'];
    let img: ImageRecord;
    try {
      const meta = await o.upstream.getJson(`/v2/images/${id}`, headers);
      if (meta.status !== 200 || !meta.json) return proxy(c.env.incoming, c.env.outgoing, o); // the upstream says why
      img = recordFromGlance(meta.json);
      void o.seen.put(id, { at: Date.now(), img });
    } catch (e) {
      if (!(e instanceof UpstreamDownError)) throw e;
      const seen = o.seen.get(id);
      if (!seen || Date.now() - seen.at > o.gracePeriodSec * 1000 || !o.cache.isCached(id)) {
        throw unavailable(`${e.message}; image ${id} is not cached or its metadata is older than the grace period`);
      }
      o.log.warn({ image: id }, 'upstream down: serving the cached image within the grace period');
      img = seen.img;
    }
    if (img.status !== 'active' || img.size === null) return proxy(c.env.incoming, c.env.outgoing, o);
    const source = async () => openEdgeSource(o.upstream, o.stores, img, headers, o.log);
    const cached = await o.cache.open(img, source);
    if (!cached) return proxy(c.env.incoming, c.env.outgoing, o);
    await serveBytes(c, cached, { sendfile: o.sendfile, log: o.log, checksum: img.checksum, requestId: c.get('ctx').requestId, imageId: id });
    return RESPONSE_ALREADY_SENT;
  });

  // As Glance's cache middleware: an image the upstream deleted leaves this node's cache before the client hears so.
  app.delete('/v2/images/:id', (c) =>
    proxy(c.env.incoming, c.env.outgoing, o, async (status) => {
      const id = c.req.param('id');
      if (status < 200 || status >= 300 || !isUuid(id)) return;
      o.cache.dequeue(id);
      await o.cache.remove(id);
      await o.seen.remove(id); // nor may the grace period serve it
      o.log.info({ image: id }, 'deleted upstream: removed from the cache');
    }));

  app.all('*', (c) => proxy(c.env.incoming, c.env.outgoing, o));
  return app;
}

/** The fill's source: Ceph directly when a local rbd store owns the image's location, else the upstream's /file. */
export async function openEdgeSource(upstream: Upstream, stores: StoreRegistry, img: ImageRecord, headers: Record<string, any>, log: Logger) {
  for (const loc of img.locations) {
    const store = stores.all().find((s) => s.owns?.(loc.url) && !s.unavailableReason());
    if (!store) continue;
    try {
      const reader = await store.open({ ...loc, store: store.info.id });
      if (reader.size === img.size) {
        const s = reader.stream(0, reader.size - 1) as import('node:stream').Readable;
        finished(s, () => void reader.close());
        return s;
      }
      await reader.close();
    } catch (e) {
      log.warn({ image: img.id, url: redactUrl(loc.url), err: (e as Error).message }, 'direct store read failed; using the upstream');
    }
  }
  const res = await upstream.request('GET', `/v2/images/${img.id}/file`, headers);
  if (res.statusCode !== 200) {
    res.resume();
    throw new HttpError(502, `upstream answered ${res.statusCode} for the data of image ${img.id}`);
  }
  return res;
}

/** The fields a fill needs, from a Glance image document (direct_url/locations give a direct path to Ceph). */
export function recordFromGlance(j: any): ImageRecord {
  const urls: string[] = [];
  if (Array.isArray(j.locations)) for (const l of j.locations) if (typeof l?.url === 'string') urls.push(l.url);
  if (typeof j.direct_url === 'string' && !urls.includes(j.direct_url)) urls.push(j.direct_url);
  return {
    id: j.id, name: j.name ?? null, status: j.status, visibility: j.visibility, protected: !!j.protected, os_hidden: !!j.os_hidden,
    owner: j.owner ?? null, checksum: j.checksum ?? null, os_hash_algo: j.os_hash_algo ?? null, os_hash_value: j.os_hash_value ?? null,
    xxh3: null, size: typeof j.size === 'number' ? j.size : null, virtual_size: j.virtual_size ?? null, min_ram: j.min_ram ?? 0,
    min_disk: j.min_disk ?? 0, disk_format: j.disk_format ?? null, container_format: j.container_format ?? null,
    created_at: j.created_at ?? '', updated_at: j.updated_at ?? '', tags: j.tags ?? [], properties: {},
    locations: urls.map((url) => ({ url, store: '', metadata: {} })),
  };
}

/**
 * Forwards the request to the upstream and streams the answer back. Version documents name the upstream's
 * URL in their links; those are rewritten to this node so clients keep talking to the edge.
 */
async function proxy(req: IncomingMessage, res: ServerResponse, o: EdgeOptions, beforeAnswer?: (status: number) => Promise<void>) {
  const path = req.url ?? '/';
  let up: IncomingMessage;
  try {
    up = await o.upstream.request(req.method ?? 'GET', path, forwardableHeaders(req.headers), req.method === 'GET' || req.method === 'HEAD' ? undefined : req);
  } catch (e) {
    if (e instanceof UpstreamDownError) throw unavailable(e.message);
    throw e;
  }
  await beforeAnswer?.(up.statusCode ?? 502);
  const headers = forwardableHeaders(up.headers);
  const isVersions = (path === '/' || path.startsWith('/versions')) && req.method === 'GET';
  if (isVersions) {
    const chunks: Buffer[] = [];
    for await (const ch of up) chunks.push(ch as Buffer);
    const self = `http://${req.headers.host ?? '127.0.0.1'}`;
    const body = Buffer.from(Buffer.concat(chunks).toString().split(o.upstream.url).join(self));
    headers['content-length'] = body.length;
    res.writeHead(up.statusCode ?? 502, headers);
    res.end(body);
    return RESPONSE_ALREADY_SENT;
  }
  if (typeof headers.location === 'string') headers.location = headers.location.replace(o.upstream.url, `http://${req.headers.host ?? '127.0.0.1'}`);
  res.writeHead(up.statusCode ?? 502, headers);
  up.pipe(res);
  await new Promise<void>((resolve) => {
    res.on('close', resolve);
    up.on('error', () => {
      res.destroy();
      resolve();
    });
  });
  return RESPONSE_ALREADY_SENT;
}
