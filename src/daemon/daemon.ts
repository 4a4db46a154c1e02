import http from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { Catalog } from '../catalog/catalog.js';
import { storesFromConfig } from '../stores/registry.js';
import { ImageService } from '../images/service.js';
import path from 'node:path';
import { createApp } from '../api/app.js';
import { Importer } from '../images/importer.js';
import { ImageCache, type CacheEntry } from '../cache/cache.js';
import { Upstream } from '../edge/upstream.js';
import { openEdgeSource, recordFromGlance, type SeenImage } from '../edge/edge.js';
import { setSendNopush, setSendThreads } from '../native/sendfile.js';
import { KeystoneAuth } from '../auth/keystone.js';

export interface Daemon {
  server: http.Server;
  url: string;
  /** For tests and diagnostics. */
  internals: { catalog: Catalog; stores: ReturnType<typeof storesFromConfig>; svc: ImageService; cache: ImageCache | null; keystone: KeystoneAuth | null };
  stop(): Promise<void>;
}

/** Opens the catalog and stores, repairs what a crash left, then serves the API. */
export async function startDaemon(config: Config, log: Logger): Promise<Daemon> {
  const catalog = new Catalog(config.imaged.stateDir);
  const stores = storesFromConfig(config, log);
  for (const s of stores.all()) s.start?.();
  const svc = new ImageService(catalog, stores, {
    imageSizeCap: config.imageSizeCap,
    hashingAlgorithm: config.hashingAlgorithm,
    hashInWorkers: config.imaged.hashWorkers,
    multiStore: config.multiStore,
    tagQuota: 128,
    propertyQuota: 128,
    showMultipleLocations: config.showMultipleLocations,
  }, log);
  let cache: ImageCache | null = null;
  if (config.cache.dir) {
    cache = new ImageCache({
      dir: config.cache.dir, maxSize: config.cache.maxSize, hardMaxSize: config.cache.hardMaxSize,
      stallTimeSec: config.cache.stallTime, prefetchWorkers: config.cache.prefetchWorkers,
      hashAlgo: config.hashingAlgorithm, hashInWorkers: config.imaged.hashWorkers,
    }, catalog.subDb<CacheEntry>('cache'), log);
    await cache.init();
  }
  const importer = new Importer(catalog, stores, catalog.subDb('staged'), {
    stagingDir: path.join(config.imaged.stateDir, 'staging'),
    enabledMethods: config.enabledImportMethods,
    multiStore: config.multiStore,
    imageSizeCap: config.imageSizeCap,
    hashingAlgorithm: config.hashingAlgorithm,
    hashInWorkers: config.imaged.hashWorkers,
    filter: config.importFilter,
  }, log);
  svc.onDelete = (id) => importer.forget(id);
  await importer.recover();
  const requeued = await svc.recover();
  if (requeued) log.warn({ images: requeued }, 'uploads interrupted by the last stop were put back to queued');

  const upstream = config.imaged.upstream ? new Upstream(config.imaged.upstream, config.imaged.upstreamTimeout * 1000) : null;
  if (upstream && !cache) throw new Error('edge mode needs a cache directory');
  if (config.imaged.auth === 'keystone' && !config.keystone) throw new Error('auth_strategy keystone needs [keystone_authtoken]');
  const keystone = config.imaged.auth === 'keystone' ? new KeystoneAuth(config.keystone!, log) : null;
  // Authenticate to Keystone now rather than in the first request (a failure here is only logged: requests retry).
  void keystone?.client.warmUp();
  if (cache) {
    // Prefetches (PUT /v2/cache/{id}) read the image like a download would: locally, or from the upstream.
    const admin = { projectId: null, userId: null, roles: ['admin'], isAdmin: true, requestId: 'prefetch' };
    cache.setPrefetchSource(async (id) => {
      if (upstream) {
        // No caller is left to speak for: with keystone, imaged asks the upstream with its own (service) token.
        const headers: Record<string, string> = keystone ? { 'X-Auth-Token': await keystone.client.ownToken() } : {};
        const meta = await upstream.getJson(`/v2/images/${id}`, headers);
        if (meta.status !== 200) return null;
        const img = recordFromGlance(meta.json);
        return img.status === 'active' ? { img, source: () => openEdgeSource(upstream, stores, img, headers, log) } : null;
      }
      const img = svc.downloadable(admin, id);
      return img ? { img, source: () => svc.openStream(img) } : null;
    });
  }
  let ready = false;
  const app = createApp(svc, stores, {
    keystone,
    noauth: {
      project: config.imaged.noauthProject,
      user: config.imaged.noauthUser,
      roles: config.imaged.noauthRoles,
      trustHeaders: config.imaged.trustContextHeaders,
    },
    multiStore: config.multiStore,
    showDirectUrl: config.showImageDirectUrl,
    showMultipleLocations: config.showMultipleLocations,
    importMethods: upstream ? [] : importer.methods,
    importer: upstream ? null : importer,
    sendfile: config.imaged.sendfile,
    isReady: () => ready,
    log,
    cache,
    edge: upstream ? { upstream, seen: catalog.subDb<SeenImage>('edge-seen'), gracePeriodSec: config.imaged.upstreamGracePeriod } : undefined,
  });

  // Before the first download starts the sender threads ([imaged] send_threads).
  const sendThreads = config.imaged.sendfile ? setSendThreads(config.imaged.sendThreads) : 0;
  setSendNopush(config.imaged.tcpNopush);

  const server = http.createServer(
    {
      requestTimeout: 0, // uploads of many GiB outlast any fixed request deadline
      headersTimeout: 60_000,
      keepAliveTimeout: 65_000,
    },
    getRequestListener(app.fetch, { overrideGlobalObjects: false }),
  );
  server.on('clientError', (err, socket) => {
    // Malformed requests and oversize headers get a 4xx from Node's parser rules, never a crash.
    const code = (err as NodeJS.ErrnoException).code;
    if (socket.writable) {
      const status = code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.bindPort, config.bindHost, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.bindPort;
  const host = config.bindHost.includes(':') ? `[${config.bindHost}]` : config.bindHost;
  const url = `http://${host}:${port}`;
  ready = true;
  log.info({ url, stores: stores.all().map((s) => s.info.id), stateDir: config.imaged.stateDir, upstream: config.imaged.upstream, cache: config.cache.dir, sendThreads, auth: keystone ? `keystone ${config.keystone!.authUrl}` : 'noauth' }, 'imaged ready');

  return {
    server,
    url,
    internals: { catalog, stores, svc, cache, keystone },
    async stop() {
      ready = false;
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
      upstream?.close();
      await Promise.all(stores.all().map((s) => s.stop?.()));
      await catalog.close();
    },
  };
}
