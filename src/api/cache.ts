import { Hono } from 'hono';
import type { ImageCache } from '../cache/cache.js';
import type { ImagePolicy } from '../auth/image-policy.js';
import { badRequest, forbidden, notFound } from '../util/errors.js';
import { isUuid } from '../util/uuid.js';
import type { Env } from './env.js';

/** Glance's cache API (v2.14): cache_list, cache_image, cache_delete (admin by Glance's defaults). */
export function cacheApi(cache: ImageCache, o: { policy: ImagePolicy; canSeeImage: (ctxImageId: string, c: any) => Promise<boolean> }) {
  const app = new Hono<Env>();
  const action = (method: string, path: string) =>
    method === 'GET' ? 'cache_list' : method === 'PUT' || path.endsWith('/clean') || path.endsWith('/prune') ? 'cache_image' : 'cache_delete';
  app.use('*', async (c, next) => {
    // webob's bare text, as Glance answers a cache policy denial
    if (!o.policy.enforcer.check(c.get('ctx'), action(c.req.method, c.req.path), {})) throw forbidden('Access was denied to this resource.');
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
