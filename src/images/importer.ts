import { finished } from 'node:stream';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Database } from 'lmdb';
import type { Logger } from 'pino';
import type { ImportFilterConfig } from '../config/index.js';
import type { Catalog } from '../catalog/catalog.js';
import type { StoreRegistry } from '../stores/registry.js';
import type { Store } from '../stores/types.js';
import type { UnifiedLimits } from '../quota/unified.js';
import { FileStore } from '../stores/file.js';
import { ClientAbortError, ingest, type IngestResult } from '../data/ingest.js';
import { socketBody } from '../data/body.js';
import { formatToInspect } from '../data/format-inspector.js';
import { HttpError, badRequest, conflict, unavailable } from '../util/errors.js';
import { isoNow } from '../util/time.js';
import { redactUrl } from '../util/redact.js';
import type { ImageLocation, ImageRecord } from './record.js';
import { checkUrl, fetchChecked } from './web-download.js';
import { remainingStorage, withinAllowances, type Quotas } from './quota.js';

export const IMPORT_METHODS = ['glance-direct', 'web-download', 'copy-image'] as const;
type Method = (typeof IMPORT_METHODS)[number];

/** Properties Glance uses to report an import's progress (reserved: callers can't set them). */
const IMPORTING = 'os_glance_importing_to_stores';
const FAILED = 'os_glance_failed_import';
const TASK = 'os_glance_import_task';

export interface ImporterOptions {
  stagingDir: string;
  enabledMethods: string[];
  multiStore: boolean;
  imageSizeCap: number;
  hashingAlgorithm: string;
  hashInWorkers: boolean;
  filter: ImportFilterConfig;
  quotas: Quotas;
  /** [DEFAULT] use_keystone_limits; null = off */
  limits?: UnifiedLimits | null;
}

/** Hashes of staged data, kept until the import consumes it. */
export interface Staged extends IngestResult {
  at: number;
}

/**
 * Interoperable image import: PUT /stage into a staging area, then POST /import with glance-direct,
 * web-download or copy-image into one or more stores, reported through os_glance_* properties like Glance.
 * Every copy is hashed on the way in and must match before it is listed; a lock (os_glance_import_task) keeps
 * two imports of one image apart, and a lock whose task is not running here (a crash) can be taken over.
 */
export class Importer {
  private running = new Map<string, string>(); // image id → task id
  private tasks = new Set<Promise<void>>();
  private staging: FileStore;

  constructor(
    private readonly catalog: Catalog,
    private readonly stores: StoreRegistry,
    private readonly staged: Database<Staged, string>,
    private readonly o: ImporterOptions,
    private readonly log: Logger,
  ) {
    fs.mkdirSync(o.stagingDir, { recursive: true });
    this.staging = new FileStore({
      id: 'os_glance_staging_store', description: 'staging', weight: 0, isDefault: false, datadir: o.stagingDir,
      filePerm: 0o600, chunkSize: 65536, thinProvisioning: false,
    });
  }

  get methods(): string[] {
    return IMPORT_METHODS.filter((m) => this.o.enabledMethods.includes(m));
  }

  private stagedPath(id: string) {
    return path.join(this.o.stagingDir, id);
  }

  /** PUT /stage: queued → uploading with the bytes (and their hashes) in the staging area. */
  async stage(img: ImageRecord, req: IncomingMessage, projectId: string | null): Promise<void> {
    await this.o.limits?.enforce(projectId, 'image_stage_total');
    if (!this.o.enabledMethods.includes('glance-direct')) throw new HttpError(404, 'glance-direct import is not enabled');
    if (img.status !== 'queued') throw conflict(`Image status transition from ${img.status} to uploading is not allowed`);
    await this.setStatus(img.id, ['queued'], 'uploading');
    const back = () => this.setStatus(img.id, ['uploading'], 'queued').catch(() => {});
    let writer: Awaited<ReturnType<typeof this.staging.createWriter>> | null = null;
    try {
      await this.o.limits?.enforce(projectId, 'image_count_uploading');
      const announced = sizeHeader(req);
      // image_stage_total: cut where this stage would take the project over (glance checks only before the first byte)
      const stageLimit = (await this.o.limits?.allowance(projectId, 'image_stage_total')) ?? null;
      if (stageLimit && announced !== null && announced > stageLimit.bytes) throw stageLimit.refusal(announced);
      writer = await this.staging.createWriter(img.id);
      const r = await ingest(socketBody(req) ?? req, writer, {
        ...withinAllowances(this.o.imageSizeCap, [stageLimit]),
        expectedSize: announced, hashAlgo: this.o.hashingAlgorithm, hashInWorkers: this.o.hashInWorkers,
      });
      await writer.commit();
      await this.staged.put(img.id, { ...r, at: Date.now() });
    } catch (e) {
      await writer?.abort().catch(() => {});
      await back();
      if (e instanceof ClientAbortError) throw badRequest(e.message);
      throw e;
    }
  }

  /** POST /import: checks the request, takes the lock, and runs the import in the background (202). */
  async start(img: ImageRecord, body: unknown, headerStore: string | undefined, projectId: string | null): Promise<void> {
    await this.o.limits?.enforce(projectId, 'image_size_total');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Import request body must be a JSON object');
    const b = body as Record<string, unknown>;
    const m = b.method as Record<string, unknown> | undefined;
    if (typeof m !== 'object' || m === null || typeof m.name !== 'string') throw badRequest('Import request needs "method": {"name": ...}');
    const method = m.name as Method;
    if (!this.methods.includes(method)) throw badRequest(`Import method ${m.name} is not valid; enabled: ${this.methods.join(', ')}`);
    if (b.stores !== undefined && headerStore !== undefined) throw badRequest("Stores parameter and x-image-meta-store header can't be both specified");
    if (b.stores !== undefined && (!Array.isArray(b.stores) || b.stores.some((s) => typeof s !== 'string'))) throw badRequest('"stores" must be a list of store ids');
    if (b.all_stores !== undefined && typeof b.all_stores !== 'boolean') throw badRequest('"all_stores" must be a boolean');
    if (b.all_stores_must_succeed !== undefined && typeof b.all_stores_must_succeed !== 'boolean') throw badRequest('"all_stores_must_succeed" must be a boolean');
    if (b.all_stores && b.stores !== undefined) throw badRequest('"all_stores" and "stores" cannot be combined');
    let targets: string[] = b.all_stores
      ? this.stores.all().map((s) => s.info.id)
      : (b.stores as string[] | undefined) ?? (headerStore ? [headerStore] : [this.stores.defaultId]);
    if (method === 'copy-image') targets = targets.filter((t) => !img.locations.some((l) => l.store === t));
    for (const t of targets) if (!this.stores.get(t)) throw badRequest(`Store for identifier ${t} not found`);
    const mustSucceed = b.all_stores_must_succeed !== false;

    if (method === 'glance-direct' && img.status !== 'uploading') {
      throw conflict(`Image ${img.id} has no staged data (status ${img.status}): PUT /v2/images/${img.id}/stage first`);
    }
    if (method === 'web-download') {
      if (img.status !== 'queued') throw conflict(`Image ${img.id} must be queued for web-download (it is ${img.status})`);
      if (typeof m.uri !== 'string') throw badRequest('web-download needs "method": {"name": "web-download", "uri": ...}');
      await checkUrl(m.uri, this.o.filter);
    }
    if (method === 'copy-image') {
      if (img.status !== 'active') throw conflict(`Only active images can be copied; image ${img.id} is ${img.status}`);
      if (targets.length === 0) throw conflict(`Image ${img.id} is already in every requested store`);
    }
    if (!img.disk_format || !img.container_format) throw badRequest('Properties disk_format, container_format must be set prior to importing data.');
    // A store that is down fails the request at once when every store must succeed, leaving the image as it was.
    const down = targets.filter((t) => this.stores.get(t)!.unavailableReason());
    if (down.length && (mustSucceed || down.length === targets.length)) {
      throw unavailable(`Store ${down.join(', ')} is not available: ${this.stores.get(down[0])!.unavailableReason()}`);
    }

    const task = randomUUID();
    await this.catalog.update(img.id, (cur) => {
      const held = cur.properties[TASK];
      if (typeof held === 'string' && [...this.running.values()].includes(held)) {
        throw conflict(`Image ${img.id} has an import in progress (task ${held})`);
      }
      // a lock left by a task that is not running here (the daemon was restarted) is stale: take it over
      cur.properties[TASK] = task;
      cur.properties[IMPORTING] = targets.join(',');
      cur.properties[FAILED] = '';
      if (method !== 'copy-image') cur.status = 'importing';
      cur.updated_at = isoNow();
      return cur;
    });
    this.running.set(img.id, task);
    const p: Promise<void> = this.run(img.id, task, method, m.uri as string | undefined, targets, mustSucceed, projectId).finally(() => {
      this.running.delete(img.id);
      this.tasks.delete(p);
    });
    this.tasks.add(p);
  }

  private async run(id: string, task: string, method: Method, uri: string | undefined, targets: string[], mustSucceed: boolean, projectId: string | null) {
    const done: ImageLocation[] = [];
    const failed: string[] = [];
    let expected: IngestResult | null = null;
    try {
      await this.enforceLimits(id, method, projectId);
      if (method === 'web-download') {
        const res = await fetchChecked(uri!, this.o.filter);
        const writer = await this.staging.createWriter(id);
        try {
          const stageLimit = (await this.o.limits?.allowance(projectId, 'image_stage_total')) ?? null;
          expected = await ingest(res, writer, { ...withinAllowances(this.o.imageSizeCap, [stageLimit]), expectedSize: null, hashAlgo: this.o.hashingAlgorithm, hashInWorkers: this.o.hashInWorkers });
          await writer.commit();
        } catch (e) {
          await writer.abort().catch(() => {});
          throw e;
        }
      } else if (method === 'glance-direct') {
        expected = this.staged.get(id) ?? null;
        if (!expected) throw new Error('staged data has no recorded hashes');
      }
      const img = this.catalog.get(id);
      if (!img) return;
      if (method === 'copy-image') expected = { size: img.size!, md5: img.checksum!, osHash: img.os_hash_value!, xxh3: img.xxh3 ?? '', virtualSize: img.virtual_size };
      // As Glance's set_data on each import into a store: the header is read while the bytes go in.
      const inspect = formatToInspect(img);
      for (const t of targets) {
        const store = this.stores.get(t)!;
        try {
          // Glance's quota layer on each set_data: the bytes must fit beside the owner's other images (this one's
          // own copies are not counted); image_location_quota is not checked there, only on PATCH of locations.
          remainingStorage(this.o.quotas, () => this.catalog.ownedBy(img.owner), img.owner, expected!.size, id);
          const { loc, virtualSize } = await this.copyInto(store, id, method === 'copy-image' ? img : null, expected!, img.os_hash_algo ?? this.o.hashingAlgorithm, inspect);
          done.push(loc);
          await this.progress(id, task, (cur) => {
            cur.locations.push(loc);
            // copy-image too fills it in for an image that has none (uploaded before it was computed)
            if (!cur.virtual_size && virtualSize !== null) cur.virtual_size = virtualSize;
            if (cur.status === 'importing') {
              cur.status = 'active';
              cur.size = expected!.size;
              cur.checksum = expected!.md5;
              cur.os_hash_algo = this.o.hashingAlgorithm;
              cur.os_hash_value = expected!.osHash;
              cur.xxh3 = expected!.xxh3;
            }
          }, t, false);
        } catch (e) {
          this.log.warn({ image: id, store: t, err: (e as Error).message }, 'import into store failed');
          failed.push(t);
          await this.progress(id, task, () => {}, t, true);
          if (mustSucceed) break;
        }
      }
      // As Glance's _VerifyImageState: with all_stores_must_succeed false the import still fails when no store took it.
      if (failed.length && (mustSucceed || done.length === 0)) throw new Error(`import into ${failed.join(',')} failed`);
    } catch (e) {
      this.log.warn({ image: id, method, err: (e as Error).message }, 'import failed');
      // all_stores_must_succeed: undo the copies this task made; the image is as it was before the import
      for (const loc of done) await this.stores.get(loc.store)?.delete(loc).catch(() => {});
      await this.catalog.update(id, (cur) => {
        if (cur.properties[TASK] !== task) return cur;
        cur.locations = cur.locations.filter((l) => !done.some((d) => d.url === l.url));
        if (cur.status === 'importing' || (cur.status === 'active' && method !== 'copy-image')) {
          cur.status = method === 'glance-direct' ? 'uploading' : 'queued';
          if (cur.locations.length === 0) Object.assign(cur, { size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null, xxh3: null });
        }
        cur.properties[FAILED] = [...new Set([...String(cur.properties[FAILED] || '').split(',').filter(Boolean), ...targets.filter((t) => !done.some((d) => d.store === t))])].join(',');
        cur.properties[IMPORTING] = '';
        delete cur.properties[TASK];
        cur.updated_at = isoNow();
        return cur;
      }).catch(() => {});
      return;
    }
    await this.catalog.update(id, (cur) => {
      if (cur.properties[TASK] === task) delete cur.properties[TASK];
      cur.properties[IMPORTING] = '';
      cur.updated_at = isoNow();
      return cur;
    }).catch(() => {});
    if (method !== 'copy-image') {
      await fsp.rm(this.stagedPath(id), { force: true });
      await this.staged.remove(id);
    }
  }

  /** Updates progress properties for one store, as long as this task still holds the lock. */
  /**
   * glance's import flow, once the image is marked as importing: glance-direct must fit image_size_total with
   * the staged size; the other methods go through staging (image_stage_total, the image's size as known) and
   * count as uploads (image_count_uploading). Failing here fails the task, as any other import failure.
   */
  private async enforceLimits(id: string, method: Method, projectId: string | null) {
    if (!this.o.limits) return;
    const MiB = 1024 * 1024;
    if (method === 'glance-direct') {
      await this.o.limits.enforce(projectId, 'image_size_total', Math.floor((this.staged.get(id)?.size ?? 0) / MiB));
    } else {
      await this.o.limits.enforce(projectId, 'image_stage_total', Math.floor((this.catalog.get(id)?.size ?? 0) / MiB));
      await this.o.limits.enforce(projectId, 'image_count_uploading');
    }
  }

  private async progress(id: string, task: string, fn: (img: ImageRecord) => void, store: string, failed: boolean) {
    await this.catalog.update(id, (cur) => {
      if (cur.properties[TASK] !== task) throw new Error('import lock lost');
      fn(cur);
      cur.properties[IMPORTING] = String(cur.properties[IMPORTING] ?? '').split(',').filter((s) => s && s !== store).join(',');
      if (failed) cur.properties[FAILED] = [...String(cur.properties[FAILED] ?? '').split(',').filter(Boolean), store].join(',');
      cur.updated_at = isoNow();
      return cur;
    });
  }

  /**
   * Streams the image into one store (from staging, or straight from the source store for copy-image) and
   * commits only when the bytes hash to what the image says; `inspect` is the disk_format to read the virtual
   * size from, if any.
   */
  private async copyInto(
    store: Store, id: string, source: ImageRecord | null, expected: IngestResult, algo: string, inspect: string | null,
  ): Promise<{ loc: ImageLocation; virtualSize: number | null }> {
    const why = store.unavailableReason();
    if (why) throw unavailable(`Store ${store.info.id} is not available: ${why}`);
    const src: Readable = source ? await this.openSource(source) : fs.createReadStream(this.stagedPath(id));
    const writer = await store.createWriter(id, expected.size);
    try {
      // The os_hash alone verifies each copy (md5 would double the CPU).
      const r = await ingest(src, writer, { maxBytes: expected.size, expectedSize: expected.size, hashAlgo: algo, hashInWorkers: this.o.hashInWorkers && expected.size > 8 << 20, md5: !expected.osHash, inspect });
      if (expected.osHash ? r.osHash !== expected.osHash : r.md5 !== expected.md5) throw new Error(`copy into ${store.info.id} does not match the image's checksums`);
      return { loc: await writer.commit(), virtualSize: r.virtualSize };
    } catch (e) {
      src.destroy();
      await writer.abort().catch(() => {});
      throw e;
    }
  }

  private async openSource(img: ImageRecord): Promise<Readable> {
    for (const loc of img.locations) {
      const s = this.stores.get(loc.store);
      if (!s || s.unavailableReason()) continue;
      try {
        const reader = await s.open(loc);
        const st = reader.stream(0, Math.max(0, reader.size - 1)) as Readable;
        finished(st, () => void reader.close());
        return st;
      } catch (e) {
        this.log.warn({ image: img.id, url: redactUrl(loc.url), err: (e as Error).message }, 'copy-image source unreadable; trying the next copy');
      }
    }
    throw unavailable(`No readable copy of image ${img.id}`);
  }

  private async setStatus(id: string, from: string[], to: ImageRecord['status']) {
    await this.catalog.update(id, (cur) => {
      if (!from.includes(cur.status)) throw conflict(`Image status transition from ${cur.status} to ${to} is not allowed`);
      cur.status = to;
      cur.updated_at = isoNow();
      return cur;
    });
  }

  /** Staged data of an image that is deleted goes with it. */
  async forget(id: string) {
    await fsp.rm(this.stagedPath(id), { force: true });
    await this.staged.remove(id);
  }

  /** At stop: waits (up to `ms`) for running import tasks, so none writes to a catalog already closed. */
  async settle(ms: number): Promise<void> {
    if (this.tasks.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.tasks]), new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /** At start: imports that were running when the daemon stopped are undone; their locks are stale. */
  async recover(): Promise<void> {
    for (const img of this.catalog.inFlight()) {
      if (img.status === 'importing' || typeof img.properties[TASK] === 'string') {
        await this.catalog.update(img.id, (cur) => {
          if (cur.status === 'importing') cur.status = this.staged.get(cur.id) ? 'uploading' : 'queued';
          delete cur.properties[TASK];
          if (cur.properties[IMPORTING]) {
            cur.properties[FAILED] = [String(cur.properties[FAILED] || ''), String(cur.properties[IMPORTING])].filter(Boolean).join(',');
            cur.properties[IMPORTING] = '';
          }
          return cur;
        });
      }
      if (img.status === 'uploading' && !this.staged.get(img.id)) {
        await this.catalog.update(img.id, (cur) => ({ ...cur, status: 'queued' }));
      }
    }
    for (const name of await fsp.readdir(this.o.stagingDir)) {
      if (name.startsWith('.')) await fsp.rm(path.join(this.o.stagingDir, name), { force: true });
      else if (!this.catalog.get(name)) await this.forget(name);
    }
  }
}

function sizeHeader(req: IncomingMessage): number | null {
  const v = req.headers['x-openstack-image-size'] ?? req.headers['content-length'];
  if (v === undefined) return null;
  const s = Array.isArray(v) ? v[0] : v;
  if (!/^\d+$/.test(s.trim())) throw badRequest(`image size header must be a non-negative integer, got ${JSON.stringify(s)}`);
  return Number(s);
}

