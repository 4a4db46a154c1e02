import { Hono } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Logger } from 'pino';
import type { ImageService } from '../images/service.js';
import type { ImageCache } from '../cache/cache.js';
import { HttpError } from '../util/errors.js';
import { sendfileAvailable } from '../native/sendfile.js';
import { serveBytes } from './serve.js';
import type { Env } from './env.js';

export interface DataApiOptions {
  sendfile: boolean;
  log: Logger;
  cache: ImageCache | null;
}

/** Image bytes: PUT streams into a store, GET serves them (sendfile(2) from files, a stream otherwise). */
export function dataApi(svc: ImageService, o: DataApiOptions) {
  const app = new Hono<Env>();
  const useSendfile = o.sendfile && sendfileAvailable();

  app.put('/:id/file', async (c) => {
    const type = (c.req.header('content-type') ?? 'application/octet-stream').split(';')[0].trim().toLowerCase();
    if (type !== 'application/octet-stream') {
      throw new HttpError(415, `Unsupported Content-Type ${JSON.stringify(type)}: image data must be application/octet-stream`);
    }
    try {
      await svc.upload(c.get('ctx'), c.req.param('id'), c.env.incoming, c.req.header('x-image-meta-store'));
    } finally {
      // A refused body is not worth reading, and one read natively leaves Node's parser short of its end.
      if (!c.env.incoming.complete) c.header('Connection', 'close');
    }
    return c.body(null, 204, { 'Content-Type': 'text/html; charset=UTF-8' });
  });

  app.get('/:id/file', async (c) => {
    // Hono routes HEAD to GET handlers; Glance answers 405 for HEAD on /file.
    if (c.req.method === 'HEAD') throw new HttpError(405, 'The method HEAD is not allowed for this resource.', { Allow: 'GET, PUT' });
    const ctx = c.get('ctx');
    const img = svc.downloadable(ctx, c.req.param('id'));
    if (!img) return c.body(null, 204);
    const serve = { sendfile: useSendfile, log: o.log, checksum: img.checksum, requestId: ctx.requestId, imageId: img.id };
    // Images that live in a remote store (RBD) go through the node's cache: one read per node, zero-copy after.
    if (o.cache && svc.isRemote(img)) {
      const cached = await o.cache.open(img, () => svc.openStream(img));
      if (cached) {
        await serveBytes(c, cached, serve);
        return RESPONSE_ALREADY_SENT;
      }
    }
    await serveBytes(c, await svc.openReader(img), serve);
    return RESPONSE_ALREADY_SENT;
  });

  app.all('/:id/file', () => {
    throw new HttpError(405, 'The method is not allowed for this resource.', { Allow: 'GET, PUT' });
  });

  return app;
}
