import { Hono } from 'hono';
import type { ImageService } from '../images/service.js';
import { imageView, type ViewOptions } from '../images/record.js';
import { PATCH_MEDIA_TYPE, parsePatch } from '../images/patch.js';
import { HttpError, unsupportedMedia } from '../util/errors.js';
import { readJson } from './body.js';
import type { Env } from './env.js';
import type { RequestContext } from '../auth/context.js';

export interface ImagesApiOptions extends ViewOptions {
  importMethods: string[];
  storeIds: string[];
}

/** Image metadata: create, list, show, update, delete, tags, deactivate/reactivate. */
export function imagesApi(svc: ImageService, o: ImagesApiOptions) {
  const app = new Hono<Env>();
  // property protections: each caller sees only the extra properties it may read
  const view = (ctx: RequestContext, img: Parameters<typeof imageView>[0]) => imageView(svc.shown(ctx, img), o);

  app.post('/', async (c) => {
    const img = await svc.create(c.get('ctx'), await readJson(c));
    const host = c.req.header('host') ?? 'localhost';
    c.header('Location', `http://${host}/v2/images/${img.id}`);
    c.header('OpenStack-image-import-methods', o.importMethods.join(','));
    if (o.multiStore) c.header('OpenStack-image-store-ids', o.storeIds.join(','));
    return c.json(view(c.get('ctx'), img), 201);
  });

  app.get('/', async (c) => {
    const url = new URL(c.req.url);
    const { images, next } = await svc.list(c.get('ctx'), url.searchParams);
    const body: Record<string, unknown> = {
      images: images.map((img) => view(c.get('ctx'), img)),
      first: '/v2/images',
      schema: '/v2/schemas/images',
    };
    if (next) {
      const q = new URLSearchParams(url.searchParams);
      q.set('marker', next);
      body.next = `/v2/images?${q.toString()}`;
    }
    return c.json(body);
  });

  app.get('/:id', (c) => c.json(view(c.get('ctx'), svc.get(c.get('ctx'), c.req.param('id')))));

  app.patch('/:id', async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type !== PATCH_MEDIA_TYPE) {
      const e = unsupportedMedia(`Unsupported Content-Type ${JSON.stringify(type)}: use ${PATCH_MEDIA_TYPE}`);
      e.headers['Accept-Patch'] = PATCH_MEDIA_TYPE;
      throw e;
    }
    const img = await svc.patch(c.get('ctx'), c.req.param('id'), parsePatch(await readJson(c)));
    return c.json(view(c.get('ctx'), img));
  });

  app.delete('/:id', async (c) => {
    await svc.remove(c.get('ctx'), c.req.param('id'));
    return c.body(null, 204);
  });

  app.post('/:id/actions/:action', async (c) => {
    const action = c.req.param('action');
    if (action !== 'deactivate' && action !== 'reactivate') throw new HttpError(404, `Unknown action ${action}`);
    await svc.setActive(c.get('ctx'), c.req.param('id'), action === 'reactivate');
    return c.body(null, 204);
  });

  app.put('/:id/tags/:tag', async (c) => {
    await svc.setTag(c.get('ctx'), c.req.param('id'), c.req.param('tag'), true);
    return c.body(null, 204);
  });
  app.delete('/:id/tags/:tag', async (c) => {
    await svc.setTag(c.get('ctx'), c.req.param('id'), c.req.param('tag'), false);
    return c.body(null, 204);
  });
  // Other methods on these resources: 405 with Allow, as Glance's router answers.
  app.all('/:id/actions/:action', () => {
    throw new HttpError(405, 'The method is not allowed for this resource.', { Allow: 'POST' });
  });
  app.all('/:id/tags/:tag', () => {
    throw new HttpError(405, 'The method is not allowed for this resource.', { Allow: 'PUT, DELETE' });
  });

  return app;
}
