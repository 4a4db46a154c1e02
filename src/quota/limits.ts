// glance's unified limits ([DEFAULT] use_keystone_limits), read as oslo.limit's flat model reads them: the
// image endpoint ([oslo_limit] endpoint_id) names a service and region; a project's limit for a resource is its
// project limit there, else the registered (default) limit, else 0 (nothing allowed, as oslo.limit). Sizes are
// MiB, as glance compares them. Reading only: enforcement (usage + delta > limit → 413) is the caller's.
// Limits change rarely, so a project's are kept for cacheSeconds; concurrent lookups share one Keystone round.
import type { Logger } from 'pino';
import { KeystoneClient, KeystoneUnavailable } from '../auth/keystone-client.js';
import { TokenCache } from '../auth/token-cache.js';

export const LIMIT_RESOURCES = ['image_size_total', 'image_stage_total', 'image_count_total', 'image_count_uploading'] as const;
export type LimitResource = (typeof LIMIT_RESOURCES)[number];
/** image_size_total and image_stage_total in MiB; the counts in images. */
export type ProjectLimits = Record<LimitResource, number>;

interface Endpoint {
  serviceId: string;
  regionId: string | null;
}

export class KeystoneLimits {
  private endpoint: Endpoint | null = null;
  private readonly cache = new TokenCache<ProjectLimits>(10_000);
  private readonly flights = new Map<string, Promise<ProjectLimits>>();
  private modelChecked = false;

  constructor(
    private readonly client: KeystoneClient,
    private readonly endpointId: string,
    private readonly log: Logger,
    private readonly cacheSeconds = 60,
  ) {}

  /** The limits that apply to a project; throws KeystoneUnavailable when Keystone cannot say. */
  async forProject(projectId: string): Promise<ProjectLimits> {
    const hit = this.cache.get(projectId);
    if (hit) return hit;
    let flight = this.flights.get(projectId);
    if (!flight) {
      flight = this.read(projectId).finally(() => this.flights.delete(projectId));
      this.flights.set(projectId, flight);
    }
    return flight;
  }

  /** Forget cached limits (all, or one project's). */
  invalidate(projectId?: string): void {
    if (projectId === undefined) this.cache.clear();
    else this.cache.delete(projectId);
  }

  private async read(projectId: string): Promise<ProjectLimits> {
    const ep = await this.resolveEndpoint();
    const q = (extra: string) => `service_id=${encodeURIComponent(ep.serviceId)}${ep.regionId ? `&region_id=${encodeURIComponent(ep.regionId)}` : ''}${extra}`;
    const [registered, project] = await Promise.all([
      this.client.get(`/registered_limits?${q('')}`),
      this.client.get(`/limits?${q(`&project_id=${encodeURIComponent(projectId)}`)}`),
    ]);
    const byName = (list: any[] | undefined, field: string) => {
      const m = new Map<string, number>();
      for (const l of list ?? []) if (typeof l?.resource_name === 'string' && Number.isFinite(l?.[field])) m.set(l.resource_name, l[field]);
      return m;
    };
    const defaults = byName(registered?.registered_limits, 'default_limit');
    // a project-scoped reader would only see its own project: keep to the one asked for
    const own = byName((project?.limits ?? []).filter((l: any) => l?.project_id === projectId), 'resource_limit');
    const limits = {} as ProjectLimits;
    for (const r of LIMIT_RESOURCES) limits[r] = own.get(r) ?? defaults.get(r) ?? 0;
    this.cache.set(projectId, limits, Date.now() + this.cacheSeconds * 1000);
    return limits;
  }

  private async resolveEndpoint(): Promise<Endpoint> {
    if (this.endpoint) return this.endpoint;
    const doc = await this.client.get(`/endpoints/${encodeURIComponent(this.endpointId)}`);
    const e = doc?.endpoint;
    if (!e?.service_id) throw new KeystoneUnavailable(`Keystone has no endpoint ${this.endpointId} ([oslo_limit] endpoint_id)`);
    if (!this.modelChecked) {
      this.modelChecked = true;
      const model = (await this.client.get('/limits/model'))?.model?.name;
      if (model && model !== 'flat') this.log.warn({ model }, 'Keystone enforces limits with a model other than flat; imaged reads each project\'s own limits only');
    }
    this.endpoint = { serviceId: e.service_id, regionId: e.region_id ?? e.region ?? null };
    return this.endpoint;
  }
}
