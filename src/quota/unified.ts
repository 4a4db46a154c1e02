// Enforcement of glance's unified limits (glance/quota/keystone.py): a project's usage, counted from the catalog
// as glance's database queries count it, plus the requested delta must not exceed its Keystone limit
// (oslo.limit: -1 = unlimited). Sizes are whole MiB (usage rounded down), as glance compares them.
import type { ImageRecord } from '../images/record.js';
import { storageUsage, type SizeAllowance } from '../images/quota.js';
import { tooLarge, unavailable } from '../util/errors.js';
import { KeystoneUnavailable } from '../auth/keystone-client.js';
import { LIMIT_RESOURCES, type KeystoneLimits, type LimitResource } from './limits.js';

const MiB = 1024 * 1024;
const IMPORTING = 'os_glance_importing_to_stores';
/** A copy (or import) into further stores is under way: glance counts it as staging and uploading. */
const copying = (img: ImageRecord) => typeof img.properties[IMPORTING] === 'string' && img.properties[IMPORTING] !== '';

/** The four usages of one project, as glance's user_get_*_usage / _count functions compute them, sizes in bytes. */
export function projectUsageBytes(images: Iterable<ImageRecord>, owner: string | null, stagedSize: (id: string) => number | undefined = () => undefined): Record<LimitResource, number> {
  // staged data has no size on the record yet (glance sets it when staging): the staging area knows it
  const all = [...images].filter((i) => i.owner === owner).map((i) => (i.size === null && i.status !== 'queued' ? { ...i, size: stagedSize(i.id) ?? null } : i));
  const gone = (i: ImageRecord) => i.status === 'killed' || i.status === 'deleted';
  const staging = all.filter((i) => (i.size ?? 0) > 0 && (['uploading', 'importing'].includes(i.status) || (copying(i) && !gone(i))));
  const inFlight = (i: ImageRecord) => ['saving', 'uploading', 'importing'].includes(i.status);
  return {
    image_size_total: storageUsage(all, owner),
    image_stage_total: staging.reduce((n, i) => n + (i.size ?? 0), 0),
    image_count_total: all.filter((i) => !gone(i)).length,
    image_count_uploading: all.filter((i) => inFlight(i) || (copying(i) && !gone(i))).length,
  };
}

const SIZES: readonly LimitResource[] = ['image_size_total', 'image_stage_total'];
export type SizeResource = 'image_size_total' | 'image_stage_total';

/** The usages as glance compares them: sizes in whole MiB, rounded down. */
export function projectUsage(images: Iterable<ImageRecord>, owner: string | null, stagedSize: (id: string) => number | undefined = () => undefined): Record<LimitResource, number> {
  const u = projectUsageBytes(images, owner, stagedSize);
  for (const r of SIZES) u[r] = Math.floor(u[r] / MiB);
  return u;
}

/** oslo.limit's ProjectOverLimit wrapped in glance's LimitExceeded, word for word. */
const overLimit = (projectId: string, resource: LimitResource, limit: number, usage: number, delta: number) =>
  tooLarge(
    'The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota threshold was breached.\n\n' +
      `The response body:\nProject ${projectId} is over a limit for [Resource ${resource} is over limit of ${limit} due to current usage ${usage} and delta ${delta}]`,
  );

export class UnifiedLimits {
  constructor(
    private readonly limits: KeystoneLimits,
    /** The images of one project (the catalog's owner index). */
    private readonly images: (owner: string) => Iterable<ImageRecord>,
    private readonly stagedSize: (id: string) => number | undefined,
  ) {}

  /** Keystone not answering is the site's trouble, not the caller's: 503 rather than a bare 500. */
  private async limitsOf(projectId: string) {
    try {
      return await this.limits.forProject(projectId);
    } catch (e) {
      if (e instanceof KeystoneUnavailable) throw unavailable(`Cannot read the project's limits from Keystone: ${e.message}`);
      throw e;
    }
  }

  /** glance's enforce_*: a 413 naming the resource when usage + delta exceeds the project's limit. */
  async enforce(projectId: string | null, resource: LimitResource, delta = 0): Promise<void> {
    if (projectId === null) return; // no project, nothing to count against (glance's admin without a project)
    const limit = (await this.limitsOf(projectId))[resource];
    if (limit < 0) return;
    const usage = projectUsage(this.images(projectId), projectId, this.stagedSize)[resource];
    if (usage + delta > limit) throw overLimit(projectId, resource, limit, usage, delta);
  }

  /**
   * The bytes a transfer may add before the project's usage of `resource`, in glance's whole MiB, goes over its
   * limit; null when unlimited. Glance checks only before the first byte (delta 0), so one upload could cross the
   * limit by any amount: imaged cuts it there instead, with the same 413.
   */
  async allowance(projectId: string | null, resource: SizeResource): Promise<SizeAllowance | null> {
    if (projectId === null) return null;
    const limit = (await this.limitsOf(projectId))[resource];
    if (limit < 0) return null;
    const used = projectUsageBytes(this.images(projectId), projectId, this.stagedSize)[resource];
    const usage = Math.floor(used / MiB);
    return {
      // usage stays <= limit while floor((used + n) / MiB) <= limit
      bytes: Math.max(0, (limit + 1) * MiB - 1 - used),
      refusal: (n) => overLimit(projectId, resource, limit, usage, Math.floor((used + n) / MiB) - usage),
    };
  }

  /** GET /v2/info/usage's body for one project. */
  async usage(projectId: string): Promise<Record<LimitResource, { limit: number; usage: number }>> {
    const limits = await this.limitsOf(projectId);
    const usage = projectUsage(this.images(projectId), projectId, this.stagedSize);
    const out = {} as Record<LimitResource, { limit: number; usage: number }>;
    for (const r of LIMIT_RESOURCES) out[r] = { limit: limits[r], usage: usage[r] };
    return out;
  }
}
