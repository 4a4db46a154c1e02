import type { Catalog } from '../catalog/catalog.js';
import { CatalogNotFound } from '../catalog/catalog.js';
import type { RequestContext } from '../auth/context.js';
import { canSeeMember } from '../auth/visibility.js';
import { HttpError, badRequest, conflict, forbidden, notFound, tooLarge } from '../util/errors.js';
import { isoNow } from '../util/time.js';
import { isMemberStatus, type MemberRecord } from './member.js';
import type { ImageRecord } from './record.js';
import type { ImageService } from './service.js';

/** Glance's image_members.member column is a String(255); longer ids are refused before they reach a key. */
export const MEMBER_ID_MAX = 255;

export interface MemberServiceOptions {
  /** [DEFAULT] image_member_quota: members per image; negative = unlimited. */
  memberQuota: number;
}

/**
 * Image members (sharing), in the order and with the words of Glance 25's ImageMembersController: find the
 * image (404), then the visibility/ownership rule (403, or 404 for show), then the membership (404).
 */
export class MemberService {
  constructor(
    private readonly catalog: Catalog,
    private readonly images: ImageService,
    private readonly o: MemberServiceOptions,
  ) {}

  list(ctx: RequestContext, imageId: string): MemberRecord[] {
    const img = this.image(ctx, imageId);
    const why = this.policy.memberRefusal(ctx, img, 'list');
    if (why) throw forbidden(`Not allowed to list members for image ${imageId}: ${why}`);
    try {
      this.policy.member(ctx, img, 'get_members');
    } catch (e) {
      if (e instanceof HttpError && e.status === 403) throw forbidden(`Not allowed to list members for image ${imageId}: ${e.message}`);
      throw e;
    }
    const mayGet = this.policy.allows(ctx, img, 'get_member');
    // Glance lists in insertion order; creation time is that order (the id breaks ties in the same millisecond).
    return this.catalog
      .membersOf(img.id)
      .filter((m) => mayGet && canSeeMember(ctx, img, m.member_id))
      .sort((a, b) => (a.created_at === b.created_at ? (a.member_id < b.member_id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1));
  }

  show(ctx: RequestContext, imageId: string, memberId: string): MemberRecord {
    const img = this.image(ctx, imageId);
    // Glance turns every refusal here into a 404, so a membership's existence does not leak.
    const why = this.policy.memberRefusal(ctx, img, 'show');
    if (why) throw notFound(why);
    try {
      this.policy.member(ctx, img, 'get_member');
    } catch (e) {
      if (e instanceof HttpError && e.status === 403) throw notFound(e.message);
      throw e;
    }
    return this.member(ctx, img, memberId);
  }

  async add(ctx: RequestContext, imageId: string, memberId: string): Promise<MemberRecord> {
    const img = this.image(ctx, imageId);
    const refused = () => forbidden(`Not allowed to create members for image ${imageId}.`);
    if (this.policy.memberRefusal(ctx, img, 'add')) throw refused();
    this.policy.member(ctx, img, 'add_member');
    const now = isoNow();
    const m: MemberRecord = { image_id: img.id, member_id: memberId, status: 'pending', created_at: now, updated_at: now };
    try {
      await this.catalog.addMember(m, (cur, count, existing) => {
        if (this.policy.memberRefusal(ctx, cur, 'add')) throw refused(); // changed since the first look
        // Glance counts against the quota before it looks for a duplicate (quota proxy, then the repo).
        const quota = this.o.memberQuota;
        if (quota >= 0 && count + 1 > quota) {
          throw tooLarge(
            `Image member limit exceeded for image ${imageId}: The limit has been exceeded on the number of allowed ` +
              `image members for this image. Attempted: ${count + 1}, Maximum: ${quota}:`,
          );
        }
        if (existing) throw conflict(`Member ${memberId} is duplicated for image ${imageId}`);
      });
    } catch (e) {
      if (e instanceof CatalogNotFound) throw notFound(`Image ${imageId} not found.`);
      throw e;
    }
    return m;
  }

  async update(ctx: RequestContext, imageId: string, memberId: string, status: unknown): Promise<MemberRecord> {
    const img = this.image(ctx, imageId);
    if (this.policy.memberRefusal(ctx, img, 'update')) throw forbidden(`Not allowed to update members for image ${imageId}.`);
    this.policy.member(ctx, img, 'get_member');
    this.member(ctx, img, memberId);
    this.policy.member(ctx, img, 'modify_member');
    if (!isMemberStatus(status)) throw badRequest('Incorrect request: Status must be "pending", "accepted" or "rejected".');
    try {
      return await this.catalog.updateMember(img.id, memberId, (m) => {
        // Setting the same status changes nothing, updated_at included (Glance's ORM writes no row then).
        if (m.status === status) return m;
        m.status = status;
        m.updated_at = isoNow();
        return m;
      });
    } catch (e) {
      if (e instanceof CatalogNotFound) throw this.memberNotFound(img, memberId);
      throw e;
    }
  }

  async remove(ctx: RequestContext, imageId: string, memberId: string): Promise<void> {
    const img = this.image(ctx, imageId);
    if (this.policy.memberRefusal(ctx, img, 'delete')) throw forbidden(`Not allowed to delete members for image ${imageId}.`);
    this.policy.member(ctx, img, 'get_member');
    this.member(ctx, img, memberId);
    this.policy.member(ctx, img, 'delete_member');
    if (!(await this.catalog.removeMember(img.id, memberId))) throw this.memberNotFound(img, memberId);
  }

  private get policy() {
    return this.images.policy;
  }

  /** Glance's _lookup_image: its own 404 wording, not the image API's. */
  private image(ctx: RequestContext, imageId: string): ImageRecord {
    const img = this.images.find(ctx, imageId);
    if (!img) throw notFound(`Image ${imageId} not found.`);
    return img;
  }

  /** Glance's _lookup_member: memberships the caller may not see are as absent as missing ones. */
  private member(ctx: RequestContext, img: ImageRecord, memberId: string): MemberRecord {
    const m = canSeeMember(ctx, img, memberId) ? this.catalog.member(img.id, memberId) : undefined;
    if (!m) throw this.memberNotFound(img, memberId);
    return m;
  }

  private memberNotFound(img: ImageRecord, memberId: string): HttpError {
    return notFound(`${memberId} not found in the member list of the image ${img.id}.`);
  }
}
