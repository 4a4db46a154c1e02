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

/** Is the image part of this caller's default listing (no visibility filter)? */
export function inDefaultList(ctx: RequestContext, img: ImageRecord): boolean {
  if (img.visibility === 'public') return true;
  if (ctx.isAdmin) return true;
  if (img.owner === null) return true;
  return isOwner(ctx, img);
}

/** Changing the image or its data: admin or the owning project. */
export const canModify = (ctx: RequestContext, img: ImageRecord) =>
  ctx.isAdmin || isOwner(ctx, img) || (img.owner === null && ctx.projectId === null);
