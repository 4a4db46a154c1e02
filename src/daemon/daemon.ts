import http from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import type { Config, PolicyConfig } from '../config/index.js';
import type { Catalog } from '../catalog/catalog.js';
import { LmdbCatalog } from '../catalog/lmdb/catalog.js';
import { storesFromConfig } from '../stores/registry.js';
import { ImageService } from '../images/service.js';
import { PropertyProtections } from '../auth/property-protections.js';
import { MemberService } from '../images/members.js';
import path from 'node:path';
import { createApp } from '../api/app.js';
import { Importer, type Staged } from '../images/importer.js';
import { ImageCache, type CacheEntry } from '../cache/cache.js';
import { Upstream } from '../edge/upstream.js';
import { openEdgeSource, recordFromGlance, type SeenImage } from '../edge/edge.js';
import { setSendNopush, setSendThreads } from '../native/sendfile.js';
import { claimChunkedBody, claimedSocket } from '../data/body.js';
import { Enforcer, PolicyFileError, formatPolicyProblem } from '../auth/enforcer.js';
import { ImagePolicy } from '../auth/image-policy.js';
import { KeystoneAuth } from '../auth/keystone.js';
import { KeystoneClient } from '../auth/keystone-client.js';
import { KeystoneLimits } from '../quota/limits.js';
import { UnifiedLimits } from '../quota/unified.js';

export interface Daemon {
  server: http.Server;
  url: string;
  /**
   * Reads the policy files again (SIGHUP). A file that does not load leaves the rules in force and the
   * reason is returned (and logged); null when the new rules took over.
   */
  reloadPolicy(policy: PolicyConfig): string | null;
  /** For tests and diagnostics. */
  internals: { catalog: Catalog; stores: ReturnType<typeof storesFromConfig>; svc: ImageService; cache: ImageCache | null; keystone: KeystoneAuth | null };
  /**
   * Stops accepting, closes idle keep-alive connections at once and each busy one when its answer is done;
   * transfers still running after `drainMs` ([imaged] drain_timeout) are cut. Then closes stores and catalog.
   */
  stop(opts?: { drainMs?: number }): Promise<void>;
}

export interface StartOptions {
  /** Runs once the port is bound and before anything is opened or written (the CLI drops root here). */
  afterBind?: () => void;
}

/** A start-up failure that is the operator's to fix: the CLI prints its message as one line. */
export class StartupError extends Error {}

/** How long a stop waits for requests cut by the drain to finish unwinding. */
const UNWIND_MS = 2000;

/** Binds the port, then opens the catalog and stores, repairs what a crash left, then serves the API. */
export async function startDaemon(config: Config, log: Logger, opts: StartOptions = {}): Promise<Daemon> {
  let handler: http.RequestListener | null = null;
  let claimUploads = false;
  let draining = false;
  const active = new Set<http.ServerResponse>();
  const handling = new Set<Promise<unknown>>();
  const server = http.createServer(
    {
      requestTimeout: 0, // uploads of many GiB outlast any fixed request deadline
      headersTimeout: 60_000,
      keepAliveTimeout: 65_000,
    },
    (req, res) => {
      if (draining) res.shouldKeepAlive = false;
      active.add(res);
      res.on('close', () => active.delete(res));
      res.on('finish', () => {
        // a keep-alive connection whose answer is done is idle now: while stopping it is closed at once
        if (draining) setImmediate(() => server.closeIdleConnections());
      });
      if (handler) {
        // now, while Node's parser has not gone on into the body (a proxying edge reads every body as a stream)
        if (claimUploads) claimChunkedBody(req, res);
        const p = handler(req, res) as unknown;
        if (p instanceof Promise) {
          handling.add(p);
          void p.finally(() => handling.delete(p)).catch(() => {});
        }
        return;
      }
      res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '1', Connection: 'close' });
      res.end('starting');
    },
  );
  server.on('clientError', (err, socket) => {
    if (claimedSocket(socket)) return; // the reader of the body answers
    // Malformed requests and oversize headers get a 4xx from Node's parser rules, never a crash.
    const code = (err as NodeJS.ErrnoException).code;
    if (socket.writable) {
      const status = code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else socket.destroy();
  });
  await listen(server, config);
  try {
    opts.afterBind?.();
    return await open(config, log, server, {
      setHandler: (h, claim) => {
        handler = h;
        claimUploads = claim;
      },
      drain: async (drainMs) => {
        draining = true;
        for (const res of active) if (!res.headersSent) res.shouldKeepAlive = false;
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), drainMs).unref();
        });
        // uploads cut with their connections unwind (image back to queued, partial data removed) before the
        // catalog and stores close
        await Promise.race([Promise.allSettled([...handling]), new Promise((r) => setTimeout(r, UNWIND_MS).unref())]);
      },
    });
  } catch (e) {
    server.close();
    server.closeAllConnections();
    throw e;
  }
}

/** Listens on bind_host:bind_port; the usual failures become one line naming the address and the options. */
async function listen(server: http.Server, config: Config): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.bindPort, config.bindHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const addr = `${config.bindHost.includes(':') ? `[${config.bindHost}]` : config.bindHost}:${config.bindPort}`;
    const why: Record<string, string> = {
      EADDRINUSE: 'the address is already in use (another imaged or glance-api?)',
      EACCES: 'permission denied (ports below 1024 need root)',
      EADDRNOTAVAIL: 'no interface of this host has that address',
      ENOTFOUND: 'the host name does not resolve',
      EAI_AGAIN: 'the host name does not resolve',
    };
    throw new StartupError(`cannot listen on ${addr} ([DEFAULT] bind_host / bind_port): ${why[code ?? ''] ?? (e as Error).message}`);
  }
}

interface Wiring {
  /** `claimUploads`: chunked upload bodies are read natively (claimChunkedBody). */
  setHandler(h: http.RequestListener, claimUploads: boolean): void;
  drain(drainMs: number): Promise<void>;
}

/** `what` failed at start: say which path and why in one line (the usual cause is ownership). */
function startupFailure(what: string, e: unknown): StartupError {
  const err = e as NodeJS.ErrnoException;
  const uid = process.geteuid?.();
  return new StartupError(`${what}: ${err.message ?? String(e)}${uid !== undefined ? ` (running as uid ${uid})` : ''}`);
}

/** property_protection_file; in the `policies` format its names are rules of the policy files. */
function protections(config: Config, enforcer: Enforcer): PropertyProtections {
  const p = new PropertyProtections(config.propertyProtection.rules, config.propertyProtection.format);
  p.policyCheck = (ctx, rule) => enforcer.checkRule(ctx, rule, {});
  return p;
}

async function open(config: Config, log: Logger, server: http.Server, w: Wiring): Promise<Daemon> {
  let catalog: Catalog;
  try {
    catalog = new LmdbCatalog(config.imaged.stateDir);
  } catch (e) {
    throw startupFailure(`cannot open the catalog in [imaged] state_dir ${config.imaged.stateDir}`, e);
  }
  const stores = storesFromConfig(config, log);
  for (const s of stores.all()) s.start?.();
  let enforcer: Enforcer;
  try {
    enforcer = Enforcer.load(config.policy, log);
  } catch (e) {
    throw new StartupError(e instanceof PolicyFileError ? e.problems.map(formatPolicyProblem).join('; ') : (e as Error).message);
  }
  const staged = catalog.subDb<Staged>('staged');
  const kl = config.keystoneLimits;
  const limits = kl
    ? new UnifiedLimits(new KeystoneLimits(new KeystoneClient(kl.auth, log), kl.endpointId, log, kl.cacheSeconds), (owner) => catalog.ownedBy(owner), (id) => staged.get(id)?.size)
    : null;
  // glance's check_quota is a no-op under unified limits: user_storage_quota gives way to image_size_total
  const quotas = limits ? { ...config.quotas, storage: 0 } : config.quotas;
  const svc = new ImageService(catalog, stores, {
    imageSizeCap: config.imageSizeCap,
    hashingAlgorithm: config.hashingAlgorithm,
    hashInWorkers: config.imaged.hashWorkers,
    multiStore: config.multiStore,
    quotas,
    propertyProtections: config.propertyProtection.file ? protections(config, enforcer) : null,
    showMultipleLocations: config.showMultipleLocations,
    limits,
  }, log, new ImagePolicy(enforcer, config.policy.enforceSecureRbac));
  let cache: ImageCache | null = null;
  if (config.cache.dir) {
    try {
      cache = new ImageCache({
        dir: config.cache.dir, maxSize: config.cache.maxSize, hardMaxSize: config.cache.hardMaxSize,
        stallTimeSec: config.cache.stallTime, prefetchWorkers: config.cache.prefetchWorkers,
        hashAlgo: config.hashingAlgorithm, hashInWorkers: config.imaged.hashWorkers,
      }, catalog.subDb<CacheEntry>('cache'), log);
      await cache.init();
    } catch (e) {
      throw startupFailure(`cannot open the image cache in ${config.cache.dir}`, e);
    }
  }
  const importer = new Importer(catalog, stores, staged, {
    stagingDir: path.join(config.imaged.stateDir, 'staging'),
    enabledMethods: config.enabledImportMethods,
    multiStore: config.multiStore,
    imageSizeCap: config.imageSizeCap,
    hashingAlgorithm: config.hashingAlgorithm,
    hashInWorkers: config.imaged.hashWorkers,
    filter: config.importFilter,
    quotas,
    limits,
  }, log);
  svc.onDelete = (id) => importer.forget(id);
  // an edge keeps no images of its own (its file stores' datadirs need not even exist): nothing to repair
  if (!config.imaged.upstream) {
    await importer.recover();
    const requeued = await svc.recover();
    if (requeued) log.warn({ images: requeued }, 'uploads interrupted by the last stop were put back to queued');
  }

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
    limits,
    members: new MemberService(catalog, svc, { memberQuota: config.imageMemberQuota }),
    sendfile: config.imaged.sendfile,
    isReady: () => ready,
    log,
    cache,
    edge: upstream ? { upstream, seen: catalog.subDb<SeenImage>('edge-seen'), gracePeriodSec: config.imaged.upstreamGracePeriod } : undefined,
  });

  // Before the first download starts the sender threads ([imaged] send_threads).
  const sendThreads = config.imaged.sendfile ? setSendThreads(config.imaged.sendThreads) : 0;
  setSendNopush(config.imaged.tcpNopush);

  w.setHandler(getRequestListener(app.fetch, { overrideGlobalObjects: false }), !upstream);
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
    reloadPolicy(policy) {
      // the modes decide which checks exist (glance-api reads them once): they stay as started
      const running = config.policy;
      for (const k of ['enforceNewDefaults', 'enforceScope', 'enforceSecureRbac'] as const) {
        if (policy[k] !== running[k]) log.warn({ option: k }, `${k} changed: it needs a restart; the running value is kept`);
      }
      try {
        svc.policy.replace(Enforcer.load({ ...policy, enforceNewDefaults: running.enforceNewDefaults, enforceScope: running.enforceScope }, log));
        log.info({ policyFile: policy.policyFile }, 'policy files read again');
        return null;
      } catch (e) {
        const why = e instanceof PolicyFileError ? e.problems.map(formatPolicyProblem).join('; ') : (e as Error).message;
        log.error({ reason: why }, 'policy reload refused: the rules in force stay');
        return why;
      }
    },
    async stop(o = {}) {
      ready = false;
      await w.drain(o.drainMs ?? config.imaged.drainTimeout * 1000);
      await importer.settle(o.drainMs ?? config.imaged.drainTimeout * 1000);
      upstream?.close();
      await Promise.all(stores.all().map((s) => s.stop?.()));
      await catalog.close();
    },
  };
}
