import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import type { ImageLocation } from '../images/record.js';
import type { SwiftStoreConfig } from '../config/index.js';
import { isUuid } from '../util/uuid.js';
import { DataNotFoundError, type Store, type StoreInfo, type StoreReader, type StoreWriter } from './types.js';
import { SwiftAuthError, SwiftClient, SwiftHttpError, isNetworkError } from './swift-client.js';
import { formatSwiftConfigUrl, formatSwiftCredentialUrl, normalizeAuthAddress, parseSwiftUrl, redactSwiftUrl } from './swift-location.js';
import { deleteObjects, ensureContainer, listPrefix, objectPath } from './swift-ops.js';
import { swiftReadStream } from './swift-reader.js';
import { pickReference, swiftReferences, type SwiftCredentials, type SwiftReferences } from './swift-refs.js';
import { SwiftWriter } from './swift-writer.js';

export interface SwiftStoreOptions extends SwiftStoreConfig {
  id: string;
  description: string;
  weight: number;
  isDefault: boolean;
  log: Logger;
}

const RETRY_MS = 5_000;

/**
 * OpenStack Swift in glance_store's single-tenant layout: object <container>/<image id>, large images as DLO
 * segments <id>-00001… plus a manifest. Locations are swift+config://<ref>/<container>/<id> with
 * swift_store_config_file, else swift+http(s)://<user>:<key>@<auth address>/<container>/<id> as glance writes them.
 */
export class SwiftStore implements Store {
  readonly info: StoreInfo;
  private refs: SwiftReferences | null = null;
  /** the client of the default reference: uploads go there */
  private main: SwiftClient | null = null;
  private clients = new Map<string, SwiftClient>();
  private lastError: string | null;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 20_000 });
  private readonly httpsAgent: https.Agent;

  constructor(private readonly o: SwiftStoreOptions) {
    this.info = {
      id: o.id, type: 'swift', description: o.description, weight: o.weight, isDefault: o.isDefault,
      properties: { container: o.container, large_object_size: o.largeObjectSize, large_object_chunk_size: o.largeObjectChunkSize },
    };
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, timeout: 20_000, rejectUnauthorized: !o.insecure });
    this.lastError = `connecting to Swift${o.authAddress ? ` at ${o.authAddress} as ${o.user}` : ''}`;
    this.loadReferences();
    if (this.main) this.lastError = `connecting to Swift at ${this.main.describe()}`;
  }

  start(): void {
    void this.connectOnce();
  }

  /** Reads the references (again: a fixed config file is picked up by the background retries). */
  private loadReferences(): void {
    try {
      this.refs = swiftReferences(this.o);
    } catch (e) {
      this.refs = null;
      this.main = null;
      this.lastError = (e as Error).message;
      return;
    }
    const picked = pickReference(this.refs, this.o.reference, this.o.configFile);
    if (typeof picked === 'string') {
      this.main = null;
      this.lastError = picked;
    } else {
      this.main = this.clientFor(picked);
    }
  }

  /** One client (token, storage URL) per set of credentials. */
  private clientFor(c: SwiftCredentials): SwiftClient {
    const k = JSON.stringify([c.authAddress, c.user, c.key, c.authVersion, c.userDomainId, c.userDomainName, c.projectDomainId, c.projectDomainName]);
    let client = this.clients.get(k);
    if (!client) {
      client = new SwiftClient(c, {
        insecure: this.o.insecure, region: this.o.region, endpointType: this.o.endpointType, serviceType: this.o.serviceType,
        httpAgent: this.httpAgent, httpsAgent: this.httpsAgent,
      });
      this.clients.set(k, client);
    }
    return client;
  }

  /** Authenticates and checks the account answers; on failure retries in the background. */
  private async connectOnce(): Promise<void> {
    this.retry = null;
    if (this.stopped) return;
    this.loadReferences();
    const client = this.main;
    if (client) {
      try {
        const r = await client.call('HEAD', '');
        if (r.status < 200 || r.status > 299) throw new SwiftHttpError(r.status, `the account answered HTTP ${r.status}`);
        this.lastError = null;
        this.o.log.info({ store: this.o.id, swift: client.describe() }, 'swift store connected');
        return;
      } catch (e) {
        this.lastError = this.reasonFor(client, e);
      }
    }
    this.o.log.warn({ store: this.o.id, reason: this.lastError }, 'swift store unavailable; retrying');
    if (!this.stopped) this.retry = setTimeout(() => void this.connectOnce(), RETRY_MS).unref();
  }

  private reasonFor(client: SwiftClient, e: unknown): string {
    const what = e instanceof SwiftAuthError ? 'cannot authenticate to' : isNetworkError(e) ? 'cannot reach' : 'cannot use';
    return `${what} Swift at ${client.describe()}: ${(e as Error).message}`;
  }

  /** An operation failed because Swift went away or refused the credentials: unavailable until a retry works. */
  private noteFailure(client: SwiftClient, e: unknown): void {
    if (client !== this.main || this.lastError !== null || this.stopped) return;
    if (!isNetworkError(e) && !(e instanceof SwiftAuthError)) return;
    this.lastError = this.reasonFor(client, e);
    this.o.log.warn({ store: this.o.id, reason: this.lastError }, 'swift store unavailable; retrying');
    if (!this.retry) this.retry = setTimeout(() => void this.connectOnce(), RETRY_MS).unref();
  }

  unavailableReason(): string | null {
    return this.lastError;
  }

  async freeBytes(): Promise<number | null> {
    return null;
  }

  owns(url: string): boolean {
    const l = parseSwiftUrl(url);
    if (!l || !this.refs) return false;
    if (l.reference) return this.refs.refs.has(l.reference.toLowerCase()) || this.refs.refs.has(l.reference);
    return [...this.refs.refs.values()].some((c) => c.authAddress === l.authAddress);
  }

  async createWriter(imageId: string, expectedSize: number | null): Promise<StoreWriter> {
    if (!isUuid(imageId)) throw new Error(`refusing non-UUID image id ${JSON.stringify(imageId)}`);
    const client = this.main;
    if (!client) throw new Error(this.lastError ?? 'the swift store is not configured');
    const container = this.o.container;
    try {
      // Segments an interrupted earlier attempt left would otherwise join this image's manifest.
      const stale = await listPrefix(client, container, `${imageId}-`);
      if (stale === null) await ensureContainer(client, container, this.o.createContainerOnPut);
      else if (stale.length) await deleteObjects(client, container, stale.map((s) => s.name));
    } catch (e) {
      this.noteFailure(client, e);
      throw e;
    }
    const url = this.o.configFile
      ? formatSwiftConfigUrl(this.o.reference, container, imageId)
      : formatSwiftCredentialUrl(client.creds.authAddress, client.creds.user, client.creds.key, container, imageId);
    return new SwiftWriter({
      client, container, object: imageId, expectedSize,
      largeObjectSize: this.o.largeObjectSize, chunkSize: this.o.largeObjectChunkSize,
      location: { url, store: this.o.id, metadata: {} },
      onFailure: (e) => this.noteFailure(client, e),
      log: this.o.log,
    });
  }

  /** The client, container and object a location names. */
  private resolve(location: ImageLocation): { client: SwiftClient; container: string; object: string } {
    const l = parseSwiftUrl(location.url);
    if (!l) throw new DataNotFoundError(`not a swift location: ${redactSwiftUrl(location.url)}`);
    if (!this.refs) throw new Error(this.lastError ?? 'swift references not loaded');
    if (l.reference) {
      const c = this.refs.refs.get(l.reference.toLowerCase()) ?? this.refs.refs.get(l.reference);
      if (!c) throw new DataNotFoundError(`swift reference "${l.reference}" is not in ${this.o.configFile ?? 'the store configuration'}`);
      return { client: this.clientFor(c), container: l.container, object: l.object };
    }
    // Credentials in the URL win (glance connects with them); the auth version and domains come from the store.
    const known = [...this.refs.refs.values()].find((c) => c.authAddress === l.authAddress);
    const base = known ?? this.main?.creds;
    const user = l.user ?? known?.user;
    const key = l.key ?? known?.key;
    if (!base || !user || !key) throw new DataNotFoundError(`swift location ${redactSwiftUrl(location.url)} has no credentials`);
    const creds = { ...base, authAddress: normalizeAuthAddress(l.authAddress!), user, key };
    return { client: this.clientFor(creds), container: l.container, object: l.object };
  }

  async open(location: ImageLocation): Promise<StoreReader> {
    const { client, container, object } = this.resolve(location);
    const path = objectPath(container, object);
    let size: number;
    try {
      const r = await client.call('HEAD', path);
      if (r.status === 404) throw new DataNotFoundError(`swift object ${container}/${object} not found`);
      if (r.status < 200 || r.status > 299) throw new SwiftHttpError(r.status, `HEAD ${container}/${object}: Swift answered HTTP ${r.status}`);
      size = Number(r.headers['content-length'] ?? NaN);
      if (!Number.isSafeInteger(size)) throw new Error(`HEAD ${container}/${object}: no Content-Length`);
    } catch (e) {
      this.noteFailure(client, e);
      throw e;
    }
    return {
      size,
      stream: (start, end) =>
        swiftReadStream({
          client, path, size, start, end, retries: this.o.retryGetCount, log: this.o.log,
          onFailure: (e) => this.noteFailure(client, e),
        }),
      close: async () => {},
    };
  }

  /** Removes the object and, for a manifest, its segments (DLO: by listing; SLO: Swift's own delete). */
  async delete(location: ImageLocation): Promise<void> {
    const { client, container, object } = this.resolve(location);
    const path = objectPath(container, object);
    try {
      const h = await client.call('HEAD', path);
      if (h.status === 404) return; // already deleted
      if (h.status < 200 || h.status > 299) throw new SwiftHttpError(h.status, `HEAD ${container}/${object}: Swift answered HTTP ${h.status}`);
      if (String(h.headers['x-static-large-object'] ?? '').toLowerCase() === 'true') {
        await deleteObjects(client, container, [object], '?multipart-manifest=delete');
        return;
      }
      const manifest = h.headers['x-object-manifest'];
      if (typeof manifest === 'string' && manifest.includes('/')) {
        const [segContainer, ...rest] = decodeURIComponent(manifest).split('/');
        const segments = (await listPrefix(client, segContainer, rest.join('/'))) ?? [];
        await deleteObjects(client, segContainer, segments.map((s) => s.name));
      }
      await deleteObjects(client, container, [object]);
    } catch (e) {
      this.noteFailure(client, e);
      throw e;
    }
  }

  async cleanupIncomplete(): Promise<number> {
    // Segments of an upload cut by a crash are removed when the image is uploaded again (createWriter); sweeping
    // the container for orphans here is unsafe while other glance/imaged nodes upload into it.
    return 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
