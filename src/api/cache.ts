import { Hono } from 'hono';
import type { ImageCache } from '../cache/cache.js';
import { badRequest, forbidden, notFound } from '../util/errors.js';
import { isUuid } from '../util/uuid.js';
import type { Env } from './env.js';

/** Glance's cache API (v2.14): admin only, as Glance's default policy. */
export function cacheApi(cache: ImageCache, o: { canSeeImage: (ctxImageId: string, c: any) => Promise<boolean> }) {
  const app = new Hono<Env>();
  app.use('*', async (c, next) => {
    if (!c.get('ctx').isAdmin) throw forbidden('You are not authorized to complete cache management actions.');
    await next();
  });
  const seconds = (ms: number) => ms / 1000;

  app.get('/', (c) => {
    const { cached, queued } = cache.list();
    return c.json({
      cached_images: cached.map((e) => ({
        image_id: e.id, hits: e.hits, last_accessed: seconds(e.lastAccessed), last_modified: seconds(e.lastModified), size: e.size,
      })),
      queued_images: queued,
    });
  });
  app.put('/:id', async (c) => {
    const id = c.req.param('id');
    if (!isUuid(id) || !(await o.canSeeImage(id, c))) throw notFound(`No image found with ID ${id}`);
    cache.enqueue(id);
    return c.body(null, 202);
  });
  app.delete('/:id', async (c) => {
    const id = c.req.param('id');
    const removed = (await cache.remove(id)) || cache.dequeue(id);
    if (!removed) throw notFound(`Image ${id} is neither cached nor queued`);
    return c.body(null, 204);
  });
  app.delete('/', async (c) => {
    const t = (c.req.header('x-image-cache-clear-target') ?? '').trim().toLowerCase();
    if (t !== '' && t !== 'cache' && t !== 'queue') throw badRequest(`x-image-cache-clear-target must be cache, queue or empty, not "${t}"`);
    await cache.clear(t === '' ? 'both' : (t as 'cache' | 'queue'));
    return c.body(null, 204);
  });
  app.post('/clean', async (c) => c.json({ removed_incomplete: await cache.clean() }));
  app.post('/prune', async (c) => c.json({ evicted: await cache.prune() }));
  return app;
}
