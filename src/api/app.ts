import { Hono } from 'hono';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { noauthContext, type NoauthSettings } from '../auth/context.js';
import { Unauthenticated, type KeystoneAuth } from '../auth/keystone.js';
import type { ImageService } from '../images/service.js';
import type { MemberService } from '../images/members.js';
import type { StoreRegistry } from '../stores/registry.js';
import { imageSchema, imagesSchema, memberSchema, membersSchema } from '../images/schema.js';
import { HttpError, renderError } from '../util/errors.js';
import { dataApi } from './data.js';
import { importApi } from './import.js';
import type { Importer } from '../images/importer.js';
import { cacheApi } from './cache.js';
import type { ImageCache } from '../cache/cache.js';
import { edgeRoutes, type EdgeOptions } from '../edge/edge.js';
import type { Env } from './env.js';
import { imagesApi } from './images.js';
import { membersApi } from './members.js';
import { infoApi } from './info.js';
import type { UnifiedLimits } from '../quota/unified.js';
import { versionsDocument } from './versions.js';

export interface AppOptions {
  noauth: NoauthSettings;
  /** Keystone authentication (flavor keystone*): every /v2 request needs a valid token; else noauth. */
  keystone?: KeystoneAuth | null;
  multiStore: boolean;
  showDirectUrl: boolean;
  showMultipleLocations: boolean;
  importMethods: string[];
  sendfile: boolean;
  isReady: () => boolean;
  log: Logger;
  cache: ImageCache | null;
  importer: Importer | null;
  members: MemberService;
  /** [DEFAULT] use_keystone_limits, for /v2/info/usage; null = off */
  limits?: UnifiedLimits | null;
  /** Edge mode: everything but the cache API and image data goes to the upstream. */
  edge?: Omit<EdgeOptions, 'cache' | 'stores' | 'sendfile' | 'log'>;
}

export function createApp(svc: ImageService, stores: StoreRegistry, o: AppOptions) {
  const app = new Hono<Env>();

  app.onError((err, c) => {
    let status = 500;
    let message = 'Internal error';
    let headers: Record<string, string> = {};
    if (err instanceof HttpError) {
      status = err.status;
      message = err.message;
      headers = err.headers;
    } else if (err instanceof URIError) {
      status = 400;
      message = `Malformed URL: ${err.message}`;
    } else {
      o.log.error({ err, method: c.req.method, path: c.req.path }, 'request failed');
    }
    const { type, body } = renderError(status, message, c.req.header('accept'));
    return c.body(body, status as any, { ...headers, 'Content-Type': type });
  });
  app.notFound((c) => {
    const { type, body } = renderError(404, `The resource could not be found: ${c.req.path}`, c.req.header('accept'));
    return c.body(body, 404, { 'Content-Type': type });
  });

  app.get('/healthcheck', (c) => (o.isReady() ? c.text('OK') : c.text('starting', 503)));
  const versions = (c: any) => {
    const host = c.req.header('host') ?? '127.0.0.1:9292';
    return c.json(versionsDocument(`http://${host}`, o.multiStore), 300);
  };

  // '/', '/versions' and '/healthcheck' stay unauthenticated, as in glance (they are answered before authtoken).
  app.use('/v2/*', async (c, next) => {
    const requestId = `req-${randomUUID()}`;
    if (o.keystone) {
      try {
        c.set('ctx', svc.policy.admit(await o.keystone.authenticate(c.req.header('x-auth-token'), c.req.header('x-service-token'), requestId)));
      } catch (e) {
        if (!(e instanceof Unauthenticated)) throw e; // Keystone unavailable: 503 through onError
        o.log.info({ requestId, method: c.req.method, path: c.req.path, reason: e.message }, 'rejecting request: authentication required');
        const u = o.keystone.unauthorized(c.req.header('accept'));
        return c.body(u.body, u.status, { ...u.headers, 'Content-Type': u.type, 'x-openstack-request-id': requestId });
      }
    } else c.set('ctx', svc.policy.admit(noauthContext(o.noauth, (n) => c.req.header(n), requestId)));
    await next();
    // Responses written directly to the socket (sendfile, proxy) share one sentinel Response: leave it alone.
    if (!c.res.headers.has('x-hono-already-sent')) c.res.headers.set('x-openstack-request-id', requestId);
  });

  if (o.cache) {
    app.route('/v2/cache', cacheApi(o.cache, {
      policy: svc.policy,
      canSeeImage: async (id, c) => {
        try {
          return o.edge ? true : svc.downloadable(c.get('ctx'), id) !== null;
        } catch {
          return false;
        }
      },
    }));
  }
  if (o.edge) {
    app.route('/', edgeRoutes({ ...o.edge, cache: o.cache!, stores, sendfile: o.sendfile, log: o.log }));
    return app;
  }

  app.get('/', versions);
  app.get('/versions', versions);
  app.get('/v2/schemas/image', (c) => c.json(imageSchema));
  app.get('/v2/schemas/images', (c) => c.json(imagesSchema));
  app.get('/v2/schemas/member', (c) => c.json(memberSchema));
  app.get('/v2/schemas/members', (c) => c.json(membersSchema));

  const storeIds = stores.all().map((s) => s.info.id);
  app.route('/v2/images', dataApi(svc, { sendfile: o.sendfile, log: o.log, cache: o.cache }));
  if (o.importer) app.route('/v2/images', importApi(svc, o.importer));
  app.route('/v2/images', membersApi(o.members));
  app.route('/v2/images', imagesApi(svc, {
    showDirectUrl: o.showDirectUrl, showMultipleLocations: o.showMultipleLocations, multiStore: o.multiStore,
    importMethods: o.importMethods, storeIds,
  }));
  app.route('/v2/info', infoApi(stores, { multiStore: o.multiStore, importMethods: o.importMethods, policy: svc.policy, limits: o.limits ?? null }));
  app.delete('/v2/stores/:store/:id', async (c) => {
    await svc.deleteFromStore(c.get('ctx'), c.req.param('store'), c.req.param('id'));
    return c.body(null, 204);
  });

  return app;
}
