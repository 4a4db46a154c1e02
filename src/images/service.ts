import { finished } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { CatalogNotFound, type Catalog } from '../catalog/catalog.js';
import type { RequestContext } from '../auth/context.js';
import { canSee, inListing, type CallerMembership } from '../auth/visibility.js';
import type { ImagePolicy } from '../auth/image-policy.js';
import { protectedPatch, type PropertyProtections } from '../auth/property-protections.js';
import type { StoreRegistry } from '../stores/registry.js';
import { DataNotFoundError, StorageFullError, type Store, type StoreReader } from '../stores/types.js';
import { ClientAbortError, ingest } from '../data/ingest.js';
import { socketBody } from '../data/body.js';
import { formatToInspect } from '../data/format-inspector.js';
import { HttpError, badRequest, conflict, forbidden, notFound, tooLarge, unavailable } from '../util/errors.js';
import { isoNow } from '../util/time.js';
import { redactUrl } from '../util/redact.js';
import { isUuid } from '../util/uuid.js';
import { applyOp, type PatchOp } from './patch.js';
import { matches, parseListQuery } from './query.js';
import { BASE_FIELDS, type ImageRecord, type Visibility } from './record.js';
import { TAG_MAX, checkSettable, validateAttribute } from './validate.js';
import type { UnifiedLimits } from '../quota/unified.js';
import { LOCATION, checkLocationQuota, checkPropertyQuota, checkTagQuota, remainingStorage, storageQuotaFull, withinAllowances, type Quotas } from './quota.js';

export interface ServiceOptions {
  imageSizeCap: number;
  hashingAlgorithm: string;
  hashInWorkers: boolean;
  multiStore: boolean;
  quotas: Quotas;
  /** property_protection_file's rules; null = no protections */
  propertyProtections: PropertyProtections | null;
  showMultipleLocations: boolean;
  /** [DEFAULT] use_keystone_limits; null = off */
  limits?: UnifiedLimits | null;
}

/** Attributes a caller sets directly on the record (everything else is an extra property). */
const WRITABLE_BASE = ['name', 'visibility', 'protected', 'os_hidden', 'owner', 'min_ram', 'min_disk', 'disk_format', 'container_format', 'tags'] as const;
const isBase = (k: string) => BASE_FIELDS.has(k);
/** Below this announced size, hashing inline is cheaper than starting two worker threads. */
const INLINE_HASH_MAX = 8 << 20;

/** The image lifecycle and its rules, independent of HTTP. */
export class ImageService {
  /** Uploads in progress, so deleting the image can stop them. */
  private uploads = new Map<string, AbortController>();

  constructor(
    private readonly catalog: Catalog,
    private readonly stores: StoreRegistry,
    private readonly o: ServiceOptions,
    private readonly log: Logger,
    readonly policy: ImagePolicy,
  ) {}

  /** The image if the caller may see it (get_image); 404 otherwise (never 403, so ids don't leak). */
  get(ctx: RequestContext, id: string): ImageRecord {
    return this.authorized(ctx, id, 'get_image');
  }

  /** The image if it exists and the caller may see it (Glance's database layer; no policy rule yet). */
  find(ctx: RequestContext, id: string): ImageRecord | undefined {
    const img = isUuid(id) ? this.catalog.get(id) : undefined;
    return img && canSee(ctx, img, this.membershipOf(ctx)) ? img : undefined;
  }

  /** The caller's membership of one image, read when a rule asks for it. */
  private membershipOf(ctx: RequestContext): CallerMembership {
    const project = ctx.projectId;
    return (img) => (project === null ? null : this.catalog.member(img.id, project)?.status ?? null);
  }

  /**
   * Glance's database-layer lookup: the image if it is visible to the caller at all, before any policy rule
   * (actions that check something else first, e.g. a PATCH of owner or a download of a deactivated image).
   */
  private visible(ctx: RequestContext, id: string): ImageRecord {
    const img = this.find(ctx, id);
    if (!img) throw notFound(`No image found with ID ${id}`);
    return img;
  }

  /**
   * The image if the caller may do `action` (a Glance policy name) to it: 404 when unseen, 403 when not
   * allowed; `notMine` is Glance's message for its legacy owner check, where the action has one.
   */
  authorized(ctx: RequestContext, id: string, action: string, notMine?: string): ImageRecord {
    const img = this.visible(ctx, id);
    this.policy.image(ctx, img, action, notMine);
    return img;
  }

  /** Called when an image is deleted (the importer drops its staged data). */
  onDelete: ((id: string) => Promise<void>) | null = null;

  async create(ctx: RequestContext, body: unknown): Promise<ImageRecord> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Request body must be a JSON object describing the image.');
    const attrs = body as Record<string, unknown>;
    for (const [k, v] of Object.entries(attrs)) {
      checkSettable(k, { creating: true });
      if (k === 'locations') throw forbidden("Attribute 'locations' is reserved.");
      validateAttribute(k, v);
    }
    this.policy.create(ctx, attrs as { owner?: string | null; visibility?: string });
    const id = (attrs.id as string | undefined) ?? randomUUID();
    const now = isoNow();
    const img: ImageRecord = {
      id, name: null, status: 'queued', visibility: 'shared', protected: false, os_hidden: false,
      owner: ctx.projectId, checksum: null, os_hash_algo: null, os_hash_value: null, xxh3: null, size: null,
      virtual_size: null, min_ram: 0, min_disk: 0, disk_format: null, container_format: null,
      created_at: now, updated_at: now, tags: [], properties: {}, locations: [],
    };
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'id') continue;
      if ((WRITABLE_BASE as readonly string[]).includes(k)) (img as any)[k] = v;
      else img.properties[k] = v;
    }
    img.tags = [...new Set(img.tags)];
    this.o.propertyProtections?.checkCreate(ctx, img.properties);
    this.checkQuotas(img, null);
    await this.o.limits?.enforce(ctx.projectId, 'image_count_total', 1);
    if (!(await this.catalog.insert(img))) throw conflict(`Image ID ${img.id} already exists!`); // Glance's words, deleted ids included
    return img;
  }

  /** Glance counts properties only when some are added, so an image over the quota can still lose some. */
  private checkQuotas(img: ImageRecord, before: ImageRecord | null) {
    checkTagQuota(this.o.quotas, img.tags);
    if (!before || Object.keys(img.properties).some((k) => !(k in before.properties))) checkPropertyQuota(this.o.quotas, img.properties);
  }

  /**
   * The image as this caller may read it: properties hidden by property protections left out, and no
   * locations (so no direct_url, locations or stores) of a deactivated image unless admin, as Glance shows it.
   */
  shown(ctx: RequestContext, img: ImageRecord): ImageRecord {
    const p = this.o.propertyProtections;
    let out = p ? { ...img, properties: p.readable(ctx, img.properties) } : img;
    if (img.status === 'deactivated' && !ctx.isAdmin && img.locations.length > 0) out = { ...out, locations: [] };
    return out;
  }

  /**
   * GET /v2/images: the catalog reads the page from its indexes; every image listed passes Glance's visibility
   * rules, the filters and the get_image policy, checked here one image at a time.
   */
  async list(ctx: RequestContext, q: URLSearchParams): Promise<{ images: ImageRecord[]; next: string | null }> {
    const query = parseListQuery(q);
    this.policy.list(ctx);
    // One range read of what is shared with the caller's project (with the asked member_status), not one per image.
    const shared = ctx.projectId === null || ctx.isAdmin ? new Map() : this.catalog.sharedWith(ctx.projectId, query.memberStatus === 'all' ? null : query.memberStatus);
    const membership: CallerMembership = (img) => shared.get(img.id) ?? null;
    const accept = (img: ImageRecord) => {
      if (!inListing(ctx, img, query, membership) || !this.policy.allows(ctx, img, 'get_image')) return false;
      if (query.osHidden === null ? img.os_hidden : img.os_hidden !== query.osHidden) return false;
      return query.filters.every((f) => matches(img, f));
    };
    let marker: ImageRecord | null = null;
    if (query.marker !== null) {
      marker = this.catalog.get(query.marker) ?? null;
      if (!marker || !accept(marker)) throw badRequest(`marker ${query.marker} could not be found.`);
    }
    const { images, more } = await this.catalog.list({ query, projectId: ctx.projectId, isAdmin: ctx.isAdmin, shared, marker, accept });
    return { images, next: more && images.length > 0 ? images[images.length - 1].id : null };
  }

  async patch(ctx: RequestContext, id: string, ops: PatchOp[]): Promise<ImageRecord> {
    const before = this.visible(ctx, id);
    if (ops.length === 0) {
      this.policy.image(ctx, before, 'modify_image', 'You do not own this image');
      return before;
    }
    if (ops.some((op) => op.path[0] === 'locations')) return this.patchLocations(ctx, before, ops);
    for (const op of ops) {
      const k = op.path[0];
      this.policy.change(ctx, before, k, op.op === 'remove' ? undefined : op.value);
      checkSettable(k, { creating: false });
      if (op.op !== 'remove') validateAttribute(k, op.value);
      if ((k === 'disk_format' || k === 'container_format') && before.status !== 'queued') {
        throw forbidden(`Attribute ${k} can be only replaced for a queued image.`);
      }
    }
    return this.catalog.update(id, (img) => {
      const guard = protectedPatch(this.o.propertyProtections, ctx, img.properties);
      const flat: Record<string, unknown> = guard.visible;
      for (const k of WRITABLE_BASE) flat[k] = img[k];
      for (const op of ops) {
        guard.check(op, flat);
        applyOp(flat, isBase, op);
      }
      for (const k of WRITABLE_BASE) {
        (img as any)[k] = flat[k];
        delete flat[k];
      }
      img.properties = guard.result(flat);
      img.tags = [...new Set(img.tags)];
      for (const t of img.tags) if (t.length > TAG_MAX) throw badRequest(`Tag is too long: at most ${TAG_MAX} characters`);
      this.checkQuotas(img, before);
      img.updated_at = isoNow();
      return img;
    });
  }

  /**
   * Registers data that already exists in a store (e.g. an RBD image written by Glance or `rbd import` +
   * snap + protect) as the location of a queued image, as Glance does with show_multiple_locations.
   */
  private async patchLocations(ctx: RequestContext, img: ImageRecord, ops: PatchOp[]): Promise<ImageRecord> {
    for (const op of ops) {
      if (op.op === 'remove') this.policy.image(ctx, img, 'delete_image_location', 'You do not own this image');
      else this.policy.image(ctx, img, 'set_image_location');
    }
    if (!this.o.showMultipleLocations) throw forbidden("It's not allowed to add locations if locations are invisible.");
    if (ops.length !== 1 || ops[0].op !== 'add' || ops[0].path.length !== 2) {
      throw badRequest('Only a single "add" of one location (path /locations/-) is supported');
    }
    if (img.status !== 'queued') throw conflict(`Locations can be added only to a queued image; image ${img.id} is ${img.status}`);
    checkLocationQuota(this.o.quotas, img.locations.length + 1);
    const v = ops[0].value as Record<string, unknown> | null;
    if (typeof v !== 'object' || v === null || typeof v.url !== 'string') throw badRequest('A location needs a "url" string and a "metadata" object');
    if (v.metadata !== undefined && (typeof v.metadata !== 'object' || v.metadata === null)) throw badRequest('Location "metadata" must be an object');
    const url = v.url;
    const store = this.stores.all().find((s) => s.owns?.(url));
    if (!store) throw badRequest(`Invalid location: no enabled store can serve ${url}`);
    const why = store.unavailableReason();
    if (why) throw unavailable(`Store ${store.info.id} is not available: ${why}`);
    const loc = { url, store: store.info.id, metadata: (v.metadata as Record<string, unknown>) ?? {} };
    let size: number;
    try {
      const reader = await store.open(loc);
      size = reader.size;
      await reader.close();
    } catch (e) {
      if (e instanceof DataNotFoundError) throw badRequest(`Invalid location ${url}: ${e.message}`);
      throw unavailable(`Store ${store.info.id} cannot open ${url}: ${(e as Error).message}`);
    }
    remainingStorage(this.o.quotas, () => this.catalog.ownedBy(ctx.projectId), ctx.projectId, size, undefined, LOCATION);
    const vd = (v.validation_data ?? {}) as Record<string, unknown>;
    for (const k of ['checksum', 'os_hash_algo', 'os_hash_value']) {
      if (vd[k] !== undefined && typeof vd[k] !== 'string') throw badRequest(`validation_data.${k} must be a string`);
    }
    return this.catalog.update(img.id, (cur) => {
      if (cur.status !== 'queued') throw conflict(`Image ${img.id} is ${cur.status}`);
      cur.locations = [loc];
      cur.size = size;
      cur.status = 'active';
      cur.checksum = (vd.checksum as string) ?? null;
      cur.os_hash_algo = (vd.os_hash_algo as string) ?? null;
      cur.os_hash_value = (vd.os_hash_value as string) ?? null;
      cur.updated_at = isoNow();
      return cur;
    });
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    const img = this.authorized(ctx, id, 'delete_image', 'You do not own this image');
    if (img.protected) throw forbidden(`Image ${id} is protected and cannot be deleted.`);
    // Data in use (RBD clones behind VMs or volumes) blocks the delete before anything is removed.
    for (const loc of img.locations) await this.checkNotInUse(loc);
    await this.catalog.remove(img.id, isoNow());
    this.uploads.get(id)?.abort();
    await this.onDelete?.(id).catch(() => {});
    for (const loc of img.locations) {
      const store = this.stores.get(loc.store);
      try {
        await store?.delete(loc);
      } catch (e) {
        this.log.warn({ err: e, image: id, url: redactUrl(loc.url) }, 'could not delete image data; it is left behind');
      }
    }
  }

  async setTag(ctx: RequestContext, id: string, tag: string, add: boolean): Promise<void> {
    this.authorized(ctx, id, 'modify_image', `Not allowed to ${add ? 'update' : 'delete'} tags for image ${id}.`);
    if (tag.length > TAG_MAX) throw badRequest(`Tag is too long: at most ${TAG_MAX} characters`);
    await this.catalog.update(id, (img) => {
      if (add) {
        if (img.tags.includes(tag)) return img;
        img.tags.push(tag);
        try {
          checkTagQuota(this.o.quotas, img.tags);
        } catch (e) {
          throw tooLarge(`Image tag limit exceeded for image ${id}: ${(e as Error).message}:`); // sic, Glance's trailing colon
        }
      } else {
        if (!img.tags.includes(tag)) throw notFound(`Tag ${tag} not found on image ${id}`);
        img.tags = img.tags.filter((t) => t !== tag);
      }
      img.updated_at = isoNow();
      return img;
    });
  }

  async setActive(ctx: RequestContext, id: string, active: boolean): Promise<void> {
    const action = active ? 'reactivate' : 'deactivate';
    const img = this.authorized(ctx, id, action, 'You do not own this image');
    if (img.status !== 'active' && img.status !== 'deactivated') {
      throw forbidden(`Not allowed to ${action} image in status '${img.status}'`);
    }
    await this.catalog.update(id, (cur) => {
      const want = active ? 'active' : 'deactivated';
      if (cur.status === want) return cur;
      if (cur.status !== 'active' && cur.status !== 'deactivated') throw forbidden(`Not allowed to ${action} image in status '${cur.status}'`);
      cur.status = want;
      cur.updated_at = isoNow();
      return cur;
    });
  }

  /** Picks the store for an upload from X-Image-Meta-Store (or the default). */
  pickStore(requested: string | undefined): Store {
    const id = requested ?? this.stores.defaultId;
    const store = this.stores.get(id);
    if (!store) throw badRequest(`Store for identifier ${id} not found`);
    const why = store.unavailableReason();
    if (why) throw unavailable(`Store ${id} is not available: ${why}`);
    return store;
  }

  /**
   * PUT /file: queued → saving → active only once every byte is durable and hashed. Any failure leaves no
   * data behind and the image queued again, as Glance does.
   */
  async upload(ctx: RequestContext, id: string, req: IncomingMessage, storeHeader: string | undefined): Promise<void> {
    const img = this.authorized(ctx, id, 'upload_image', `Not allowed to upload image data for image ${id}`);
    if (img.status !== 'queued') throw conflict(`Image status transition from ${img.status} to saving is not allowed`);
    if (!img.disk_format || !img.container_format) {
      throw badRequest('Properties disk_format, container_format must be set prior to saving data.');
    }
    // unified limits: glance refuses a project already over image_size_total (delta 0) before any byte; imaged
    // also cuts an upload where it would cross the limit (allowance below)
    await this.o.limits?.enforce(ctx.projectId, 'image_size_total');
    const store = this.pickStore(storeHeader);
    const expected = parseSizeHeader(req.headers['x-openstack-image-size'], 'x-openstack-image-size');
    const contentLength = parseSizeHeader(req.headers['content-length'], 'Content-Length');
    if (expected !== null && contentLength !== null && expected !== contentLength) {
      throw badRequest(`Provided image size must match the stored image size: Content-Length ${contentLength} but x-openstack-image-size ${expected}`);
    }
    const announced = expected ?? contentLength;
    if (announced !== null && announced > this.o.imageSizeCap) {
      throw tooLarge(`Image exceeds the size cap: ${announced} bytes announced, image_size_cap is ${this.o.imageSizeCap}`);
    }
    // user_storage_quota: the caller's project's stored bytes plus this upload (Glance's check_quota)
    const quotaLeft = remainingStorage(this.o.quotas, () => this.catalog.ownedBy(ctx.projectId), ctx.projectId, announced, id);
    const sizeLimit = (await this.o.limits?.allowance(ctx.projectId, 'image_size_total')) ?? null;
    if (announced !== null && sizeLimit && announced > sizeLimit.bytes) throw sizeLimit.refusal(announced);
    const free = await store.freeBytes();
    if (announced !== null && free !== null && announced > free) {
      throw tooLarge(`Image storage media is full: store ${store.info.id} has ${free} bytes free, ${announced} needed`);
    }

    await this.catalog.update(id, (cur) => {
      if (cur.status !== 'queued') throw conflict(`Image status transition from ${cur.status} to saving is not allowed`);
      cur.status = 'saving';
      cur.updated_at = isoNow();
      return cur;
    });
    // counted once saving, so this upload is one of them (glance checks image_count_uploading with delta 0 here)
    await this.o.limits?.enforce(ctx.projectId, 'image_count_uploading').catch(async (e) => {
      await this.backToQueued(id);
      throw e;
    });
    const abort = new AbortController();
    this.uploads.set(id, abort);
    const writer = await store.createWriter(id, announced).catch(async (e) => {
      await this.backToQueued(id);
      this.uploads.delete(id);
      throw e;
    });
    try {
      const r = await ingest(socketBody(req) ?? req, writer, {
        ...withinAllowances(Math.min(this.o.imageSizeCap, free ?? Infinity), [
          quotaLeft === null ? null : { bytes: quotaLeft, refusal: (n) => storageQuotaFull(n, quotaLeft) },
          sizeLimit,
        ]),
        expectedSize: announced,
        hashAlgo: this.o.hashingAlgorithm,
        hashInWorkers: this.o.hashInWorkers && (announced === null || announced > INLINE_HASH_MAX),
        inspect: formatToInspect(img),
        signal: abort.signal,
      });
      if (abort.signal.aborted) throw new HttpError(410, `Image ${id} was deleted during upload`);
      // again now the size is known: the project's other transfers may have used the limit meanwhile
      const limitNow = sizeLimit && (await this.o.limits!.allowance(ctx.projectId, 'image_size_total'));
      if (limitNow && r.size > limitNow.bytes) throw limitNow.refusal(r.size);
      const location = await writer.commit();
      try {
        await this.catalog.update(id, (cur) => {
          if (cur.status !== 'saving') throw new HttpError(409, `Image ${id} changed state to ${cur.status} during upload`);
          // again now the size is known: concurrent uploads of one project may have used the quota meanwhile (as Glance)
          remainingStorage(this.o.quotas, () => this.catalog.ownedBy(ctx.projectId), ctx.projectId, r.size, id);
          cur.status = 'active';
          cur.size = r.size;
          cur.checksum = r.md5;
          cur.os_hash_algo = this.o.hashingAlgorithm;
          cur.os_hash_value = r.osHash;
          cur.xxh3 = r.xxh3;
          if (r.virtualSize !== null) cur.virtual_size = r.virtualSize;
          cur.locations = [location];
          cur.updated_at = isoNow();
          return cur;
        });
      } catch (e) {
        // The record is gone or changed, or the quota was used meanwhile: the committed bytes belong to nobody.
        await store.delete(location).catch(() => {});
        if (e instanceof CatalogNotFound) throw new HttpError(410, `Image ${id} was deleted during upload`);
        throw e;
      }
    } catch (e) {
      await writer.abort().catch(() => {});
      await this.backToQueued(id);
      if (e instanceof StorageFullError) throw tooLarge(e.message);
      if (e instanceof ClientAbortError) throw badRequest(e.message);
      throw e;
    } finally {
      this.uploads.delete(id);
    }
  }

  private async backToQueued(id: string) {
    await this.catalog
      .update(id, (cur) => {
        if (cur.status === 'saving') {
          cur.status = 'queued';
          cur.updated_at = isoNow();
        }
        return cur;
      })
      .catch(() => {}); // deleted meanwhile: nothing to restore
  }

  /**
   * Opens the image's bytes for GET /file. Returns null when the image has no data (204).
   * The caller must close the reader.
   */
  async openData(ctx: RequestContext, id: string): Promise<{ img: ImageRecord; reader: StoreReader } | null> {
    const img = this.downloadable(ctx, id);
    if (!img) return null;
    return { img, reader: await this.openReader(img) };
  }

  /** The image if the caller may download it; null when it has no data yet (204). */
  downloadable(ctx: RequestContext, id: string): ImageRecord | null {
    const img = this.visible(ctx, id);
    if (img.status === 'deactivated' && !ctx.isAdmin) {
      throw forbidden('The requested image has been deactivated. Image data download is forbidden.');
    }
    this.policy.image(ctx, img, 'download_image');
    if (img.status !== 'active' && img.status !== 'deactivated') return null;
    return img;
  }

  /** Does every copy of the image live in a store other than a local file store (so it is worth caching)? */
  isRemote(img: ImageRecord): boolean {
    return img.locations.length > 0 && img.locations.every((l) => this.stores.get(l.store)?.info.type !== 'file');
  }

  /** Opens the first readable copy of the image. */
  async openReader(img: ImageRecord): Promise<StoreReader> {
    let lastErr: unknown = null;
    for (const loc of img.locations) {
      const store = this.stores.get(loc.store);
      if (!store) continue;
      try {
        const reader = await store.open(loc);
        if (img.size !== null && reader.size !== img.size) {
          await reader.close();
          this.log.error({ image: img.id, url: redactUrl(loc.url), want: img.size, have: reader.size }, 'stored image has the wrong size; not serving it');
          continue;
        }
        return reader;
      } catch (e) {
        lastErr = e;
        if (!(e instanceof DataNotFoundError)) this.log.warn({ err: e, image: img.id, url: redactUrl(loc.url) }, 'cannot open image data');
      }
    }
    if (lastErr && !(lastErr instanceof DataNotFoundError)) throw unavailable(`Image data of ${img.id} cannot be read now`);
    throw new HttpError(410, `Image data of ${img.id} is missing from every store that should hold it`);
  }

  /** The whole image as a stream (a cache fill's source); the store handle closes with the stream. */
  async openStream(img: ImageRecord): Promise<Readable> {
    const reader = await this.openReader(img);
    const s = reader.stream(0, Math.max(0, reader.size - 1)) as Readable;
    finished(s, () => void reader.close());
    return s;
  }

  private async checkNotInUse(loc: ImageRecord['locations'][number]) {
    const store = this.stores.get(loc.store);
    if (!store?.inUse) return;
    let why: string | null;
    try {
      why = await store.inUse(loc);
    } catch (e) {
      throw unavailable(`Store ${loc.store} cannot check whether the image data is in use: ${(e as Error).message}`);
    }
    if (why) throw conflict(`Image data cannot be deleted: ${why}`);
  }

  /** DELETE /v2/stores/{store}/{id}: drop one copy, never the last. */
  async deleteFromStore(ctx: RequestContext, storeId: string, id: string): Promise<void> {
    if (!this.o.multiStore) throw notFound('Multi backend is not supported at this site.');
    const store = this.stores.get(storeId);
    if (!store) throw notFound(`Unknown store ${storeId}`);
    const img = this.authorized(ctx, id, 'get_image_location');
    this.policy.image(ctx, img, 'delete_image_location', 'You do not own this image');
    if (img.status !== 'active') throw conflict(`It's not allowed to remove image data from store if image status is not 'active'`);
    const loc = img.locations.find((l) => l.store === storeId);
    if (!loc) throw notFound(`Image ${id} is not present in store ${storeId}`);
    if (img.locations.length === 1) throw forbidden('Cannot delete image data from the only store containing image data. Consider deleting the image instead.');
    await this.checkNotInUse(loc);
    await this.catalog.update(id, (cur) => {
      cur.locations = cur.locations.filter((l) => l.store !== storeId);
      cur.updated_at = isoNow();
      return cur;
    });
    try {
      await store.delete(loc);
    } catch (e) {
      this.log.warn({ err: e, image: id, url: redactUrl(loc.url) }, 'could not delete image data; it is left behind');
    }
  }

  /** At start: an upload that was in flight when the daemon died never finished, so the image is queued again. */
  async recover(): Promise<number> {
    let n = 0;
    for (const img of this.catalog.inFlight()) {
      if (img.status === 'saving') {
        await this.backToQueued(img.id);
        n++;
      }
    }
    for (const s of this.stores.all()) {
      if (!s.unavailableReason()) await s.cleanupIncomplete();
    }
    return n;
  }
}

function parseSizeHeader(v: string | string[] | undefined, name: string): number | null {
  if (v === undefined) return null;
  const s = Array.isArray(v) ? v[0] : v;
  if (!/^\s*\d+\s*$/.test(s)) throw badRequest(`${name} must be a non-negative integer, got ${JSON.stringify(s)}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw badRequest(`${name} is too large: ${s}`);
  return n;
}

export type { Visibility };
