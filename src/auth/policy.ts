import type { RequestContext } from './context.js';
import type { ImageRecord } from '../images/record.js';

// Glance's default visibility rules, without image members yet (shared images are visible to their owner only).

export const isOwner = (ctx: RequestContext, img: ImageRecord) =>
  img.owner !== null && ctx.projectId !== null && img.owner === ctx.projectId;

/** May this caller see the image at all (show)? Unseen images are 404, never 403. */
export function canSee(ctx: RequestContext, img: ImageRecord): boolean {
  if (ctx.isAdmin) return true;
  if (img.visibility === 'public' || img.visibility === 'community') return true;
  // Glance's stock noauth has no project: ownerless images are visible to a project-less caller.
  if (img.owner === null) return true;
  return isOwner(ctx, img);
}

/**
 * Is the image in this caller's GET /v2/images before the other filters? Glance's image_get_all
 * (db/sqlalchemy/api.py, _select_images_query and the visibility block after it), without image members.
 */
export function inListing(ctx: RequestContext, img: ImageRecord, visibility: string | null): boolean {
  // Admins start from every image; others from public, community and their own (shared ones need members).
  if (!ctx.isAdmin && !listableByUser(ctx, img)) return false;
  if (visibility === 'all') return true;
  if (visibility !== null) return img.visibility === visibility;
  // No visibility filter: community images only when the caller's project owns them, admins included.
  return img.visibility !== 'community' || (ctx.projectId !== null && img.owner === ctx.projectId);
}

function listableByUser(ctx: RequestContext, img: ImageRecord): boolean {
  if (img.visibility === 'public' || img.visibility === 'community') return true;
  // Project-less noauth callers own the ownerless images they create (as in canModify); Glance has no such caller.
  if (img.owner === null) return ctx.projectId === null;
  return isOwner(ctx, img);
}

/** Changing the image or its data: admin or the owning project. */
export const canModify = (ctx: RequestContext, img: ImageRecord) =>
  ctx.isAdmin || isOwner(ctx, img) || (img.owner === null && ctx.projectId === null);
