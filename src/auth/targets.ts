// The targets Glance 25 hands to policy checks (glance/api/policy.py ImageTarget and
// glance/api/v2/policy.py), built once per request so a check only reads them.
import type { ImageRecord } from '../images/record.js';
import type { RequestContext } from './context.js';
import type { Target } from './rules.js';

/**
 * Glance's ImageTarget: the image's attributes under their domain names, the aliases
 * id (image_id), project_id (owner) and member_id (member), then the extra properties
 * (an attribute wins over an extra property of the same name; any other key is missing,
 * which makes a check naming it false).
 *
 * member: Glance's image repo sets it to the caller's project when the image is shared
 * and the caller's project does not own it (the caller found it as a member, or is an
 * admin); otherwise it is None. Pass the caller's context to get that, or leave it out
 * when there is no caller to speak of.
 */
export function imageTarget(img: ImageRecord, ctx?: Pick<RequestContext, 'projectId'> | null): Target {
  const member = ctx && img.visibility === 'shared' && ctx.projectId !== img.owner ? ctx.projectId : null;
  const t: Target = {
    id: img.id,
    image_id: img.id,
    project_id: img.owner,
    owner: img.owner,
    member_id: member,
    member,
    name: img.name,
    status: img.status,
    visibility: img.visibility,
    protected: img.protected,
    os_hidden: img.os_hidden,
    checksum: img.checksum,
    os_hash_algo: img.os_hash_algo,
    os_hash_value: img.os_hash_value,
    size: img.size,
    virtual_size: img.virtual_size,
    min_ram: img.min_ram,
    min_disk: img.min_disk,
    disk_format: img.disk_format,
    container_format: img.container_format,
    created_at: img.created_at,
    updated_at: img.updated_at,
    tags: img.tags,
    locations: img.locations,
    extra_properties: img.properties,
  };
  for (const k in img.properties) {
    if (!Object.prototype.hasOwnProperty.call(t, k)) t[k] = img.properties[k];
  }
  return t;
}

/**
 * The target of add_image (and of the visibility checks on create): the image being
 * proposed, as Glance's ImageAPIPolicy builds it from the request body. Glance fills an
 * absent owner with the caller's project before this; an explicit "owner": null stays None.
 */
export function newImageTarget(ctx: Pick<RequestContext, 'projectId'>, body: { owner?: string | null; visibility?: string }): Target {
  const owner = body.owner !== undefined ? body.owner : ctx.projectId;
  return { project_id: owner, owner, visibility: body.visibility ?? 'private' };
}

/** get_images, and member/metadef checks without a resource: the caller's own project. */
export const projectTarget = (ctx: Pick<RequestContext, 'projectId'>): Target => ({ project_id: ctx.projectId });

/**
 * oslo.context's to_dict() (plus Glance's service_catalog): the target Glance checks
 * context_is_admin against when it builds a request context.
 */
export function contextTarget(ctx: RequestContext): Target {
  const idt = [ctx.userId, ctx.projectId, ctx.domainId, ctx.userDomainId, ctx.projectDomainId].map((x) => x || '-').join(' ');
  return {
    user: ctx.userId,
    project_id: ctx.projectId,
    system_scope: ctx.systemScope ?? null,
    project: ctx.projectId,
    domain: ctx.domainId ?? null,
    user_domain: ctx.userDomainId ?? null,
    project_domain: ctx.projectDomainId ?? null,
    is_admin: ctx.isAdmin,
    read_only: false,
    show_deleted: false,
    auth_token: ctx.authToken ?? null,
    request_id: ctx.requestId,
    global_request_id: null,
    resource_uuid: null,
    roles: ctx.roles,
    user_identity: idt,
    is_admin_project: ctx.isAdminProject ?? true,
    service_catalog: ctx.serviceCatalog ?? null,
  };
}
