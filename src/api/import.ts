import { Hono } from 'hono';
import type { ImageService } from '../images/service.js';
import type { Importer } from '../images/importer.js';
import { HttpError } from '../util/errors.js';
import { readJson } from './body.js';
import type { Env } from './env.js';

/** Interoperable import: PUT /stage and POST /import (202; progress shows in the image's os_glance_* fields). */
export function importApi(svc: ImageService, importer: Importer) {
  const app = new Hono<Env>();
  app.put('/:id/stage', async (c) => {
    const type = (c.req.header('content-type') ?? 'application/octet-stream').split(';')[0].trim().toLowerCase();
    if (type !== 'application/octet-stream') throw new HttpError(415, `Unsupported Content-Type ${JSON.stringify(type)}: staged data must be application/octet-stream`);
    const img = svc.authorized(c.get('ctx'), c.req.param('id'), 'modify_image', 'You do not own this image');
    try {
      await importer.stage(img, c.env.incoming, c.get('ctx').projectId);
    } finally {
      // A refused body is not worth reading, and one read natively leaves Node's parser short of its end.
      if (!c.env.incoming.complete) c.header('Connection', 'close');
    }
    return c.body(null, 204);
  });
  app.post('/:id/import', async (c) => {
    const body = await readJson(c);
    // copy-image is an operator's action (admin by default); the others change the caller's own image
    const copy = (body as { method?: { name?: unknown } } | null)?.method?.name === 'copy-image';
    const img = copy
      ? svc.authorized(c.get('ctx'), c.req.param('id'), 'copy_image')
      : svc.authorized(c.get('ctx'), c.req.param('id'), 'modify_image', 'You do not own this image');
    await importer.start(img, body, c.req.header('x-image-meta-store'), c.get('ctx').projectId);
    return c.body(null, 202);
  });
  return app;
}
