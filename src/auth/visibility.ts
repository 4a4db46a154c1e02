import type { RequestContext } from './context.js';
import type { ImageRecord } from '../images/record.js';
import type { MemberStatus } from '../images/member.js';

// Glance's database-layer visibility (is_image_visible, image_get_all's starting set), image members included:
// what a caller can see at all, before any policy rule (src/auth/image-policy.ts) is asked.

export const isOwner = (ctx: RequestContext, img: ImageRecord) =>
  img.owner !== null && ctx.projectId !== null && img.owner === ctx.projectId;

/** The caller's member status on an image shared with its project, or null; looked up by whoever asks a rule. */
export type CallerMembership = (img: ImageRecord) => MemberStatus | null;

/**
 * May this caller see the image at all (show, download)? Glance's is_image_visible (db/utils.py): members of a
 * shared image see it whatever their status (pending and rejected too). Unseen images are 404, never 403.
 */
export function canSee(ctx: RequestContext, img: ImageRecord, membership: CallerMembership): boolean {
  if (ctx.isAdmin) return true;
  if (img.visibility === 'public' || img.visibility === 'community') return true;
  // Glance's stock noauth has no project: ownerless images are visible to a project-less caller.
  if (img.owner === null) return true;
  if (isOwner(ctx, img)) return true;
  return ctx.projectId !== null && img.visibility === 'shared' && membership(img) !== null;
}

export interface ListingFilter {
  /** Explicit visibility filter, or null for the default listing. */
  visibility: string | null;
  /** member_status: which memberships list a shared image ('all' = any); Glance's default is 'accepted'. */
  memberStatus: MemberStatus | 'all';
}

/**
 * Is the image in this caller's GET /v2/images before the other filters? Glance's image_get_all
 * (db/sqlalchemy/api.py, _select_images_query and the visibility block after it).
 */
export function inListing(ctx: RequestContext, img: ImageRecord, f: ListingFilter, membership: CallerMembership): boolean {
  // Admins start from every image (member_status is ignored); others from public, community, their own and
  // the shared images they are a member of with the asked status.
  if (!ctx.isAdmin && !listableByUser(ctx, img, f.memberStatus, membership)) return false;
  if (f.visibility === 'all') return true;
  if (f.visibility !== null) return img.visibility === f.visibility;
  // No visibility filter: community images only when the caller's project owns them, admins included.
  return img.visibility !== 'community' || (ctx.projectId !== null && img.owner === ctx.projectId);
}

function listableByUser(ctx: RequestContext, img: ImageRecord, memberStatus: ListingFilter['memberStatus'], membership: CallerMembership): boolean {
  if (img.visibility === 'public' || img.visibility === 'community') return true;
  // Project-less noauth callers own the ownerless images they create; Glance has no such caller.
  if (img.owner === null) return ctx.projectId === null;
  if (isOwner(ctx, img)) return true;
  // Glance would list every shared image that has any member to a caller without a project (its member query
  // then has no member condition); imaged lists none, as is_image_visible would hide them anyway.
  if (ctx.projectId === null || img.visibility !== 'shared') return false;
  const status = membership(img);
  return status !== null && (memberStatus === 'all' || status === memberStatus);
}

export type MemberAction = 'list' | 'show' | 'add' | 'update' | 'delete';

/**
 * Why the caller may not `action` the members of a (visible) image, or null: Glance 25's
 * _check_visibility_and_ownership (api/v2/image_members.py). Only shared images have members; while
 * enforce_secure_rbac is false, the owner adds and removes them, the member (not the owner) sets its status,
 * admins may do all.
 */
export function memberRefusal(ctx: RequestContext, img: ImageRecord, action: MemberAction, secureRbac = false): string | null {
  if (img.visibility !== 'shared') return 'Only shared images have members.';
  // the ownership half is Glance's legacy rule: with secure RBAC the member policies alone decide
  if (ctx.isAdmin || secureRbac) return null;
  // Glance compares context.owner with image.owner as Python values: two missing projects are equal here.
  if (action === 'add' && (img.owner === null || img.owner !== ctx.projectId)) {
    return 'You are not permitted to create image members for the image.';
  }
  if (action === 'update' && ctx.projectId === img.owner) return "You are not permitted to modify 'status' on this image member.";
  if (action === 'delete' && ctx.projectId !== img.owner) return 'You cannot delete image member.';
  return null;
}

/**
 * May the caller see this membership? Glance's image_member_find filter: admins see all, the image's owner
 * sees its members, a member sees only its own membership.
 */
export function canSeeMember(ctx: RequestContext, img: ImageRecord, memberId: string): boolean {
  if (ctx.isAdmin) return true;
  if (ctx.projectId === null) return false; // SQL: NULL matches neither the owner nor the member column
  return img.owner === ctx.projectId || memberId === ctx.projectId;
}
