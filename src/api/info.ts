import { Hono } from 'hono';
import type { StoreRegistry } from '../stores/registry.js';
import type { ImagePolicy } from '../auth/image-policy.js';
import { notFound } from '../util/errors.js';
import type { Env } from './env.js';
import type { UnifiedLimits } from '../quota/unified.js';

/** /v2/info/*: what the site offers. */
export function infoApi(stores: StoreRegistry, o: { multiStore: boolean; importMethods: string[]; policy: ImagePolicy; limits: UnifiedLimits | null }) {
  const app = new Hono<Env>();
  // the caller's project's unified limits and usage; {} when use_keystone_limits is off (glance's get_usage)
  app.get('/usage', async (c) => {
    const project = c.get('ctx').projectId;
    return c.json({ usage: o.limits && project !== null ? await o.limits.usage(project) : {} });
  });
  const multiOnly = () => {
    if (!o.multiStore) throw notFound('Multi backend is not supported at this site.');
  };
  app.get('/import', (c) =>
    c.json({ 'import-methods': { description: 'Import methods available.', type: 'array', value: o.importMethods } }),
  );
  app.get('/stores', (c) => {
    multiOnly();
    return c.json({
      stores: stores.all().map((s) => {
        const e: Record<string, unknown> = { id: s.info.id, description: s.info.description };
        if (s.info.isDefault) e.default = 'true';
        return e;
      }),
    });
  });
  app.get('/stores/detail', (c) => {
    multiOnly();
    o.policy.enforcer.enforce(c.get('ctx'), 'stores_info_detail', {});
    return c.json({
      stores: stores.all().map((s) => {
        const why = s.unavailableReason();
        const e: Record<string, unknown> = {
          id: s.info.id, description: s.info.description, type: s.info.type, weight: s.info.weight,
          properties: s.info.properties,
        };
        if (s.info.isDefault) e.default = 'true';
        if (why) e.unavailable = why; // imaged's addition: why a store cannot take data now
        return e;
      }),
    });
  });
  return app;
}
