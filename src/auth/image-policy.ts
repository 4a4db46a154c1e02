import type { RequestContext } from './context.js';
import type { Enforcer } from './enforcer.js';
import { memberRefusal, type MemberAction } from './visibility.js';
import { imageTarget, newImageTarget, projectTarget } from './targets.js';
import type { ImageRecord } from '../images/record.js';
import { forbidden, HttpError } from '../util/errors.js';

/**
 * "May this context do X to this image", as glance-api 25 decides it (glance/api/v2/policy.py ImageAPIPolicy):
 * the policy rule by Glance's name and target, a denial turned into 404 when the caller may not even get_image,
 * and — while [DEFAULT] enforce_secure_rbac is false — Glance's hard-coded owner check after the rule, since the
 * legacy defaults let everyone through. Handlers and the image service ask here; nobody re-checks ownership.
 * Whether the image is visible at all (Glance's database layer) is src/auth/policy.ts's canSee, asked first.
 */
export class ImagePolicy {
  constructor(private current: Enforcer, private readonly secureRbac: boolean) {}

  /** The rules in force (replaced as a whole on reload). */
  get enforcer(): Enforcer {
    return this.current;
  }

  /**
   * SIGHUP: the policy files read again. Only the files' rules change: enforce_secure_rbac and the
   * enforce_* options need a restart (they change which checks exist, as glance-api reads them once).
   */
  replace(enforcer: Enforcer): void {
    this.current = enforcer;
  }

  /** Glance's context.is_admin: the context_is_admin rule (role:admin unless a policy file says otherwise). */
  admit(ctx: RequestContext): RequestContext {
    ctx.isAdmin = this.enforcer.isAdmin(ctx);
    return ctx;
  }

  /** A rule on an existing image; `notMine` is the message of Glance's legacy owner check, where it has one. */
  image(ctx: RequestContext, img: ImageRecord, action: string, notMine?: string): void {
    this.enforcer.enforceImage(ctx, action, imageTarget(img, ctx));
    if (notMine !== undefined && !this.secureRbac) this.mustOwn(ctx, img, notMine);
  }

  /** A soft check (listings keep only what passes get_image). */
  allows(ctx: RequestContext, img: ImageRecord, action: string): boolean {
    return this.enforcer.check(ctx, action, imageTarget(img, ctx));
  }

  /** GET /v2/images: get_images on the caller's own project (403, never 404). */
  list(ctx: RequestContext): void {
    this.enforcer.enforce(ctx, 'get_images', projectTarget(ctx));
  }

  /** POST /v2/images: add_image, then the visibility asked for, then the legacy owner rule. */
  create(ctx: RequestContext, body: { owner?: string | null; visibility?: string }): void {
    const target = newImageTarget(ctx, body);
    if (!this.enforcer.check(ctx, 'add_image', target)) {
      if (target.owner !== ctx.projectId) throw forbidden(`You are not permitted to create images owned by '${target.owner}'`);
      throw forbidden('You are not authorized to complete add_image action.');
    }
    this.visibility(ctx, target, body.visibility);
    if (!this.secureRbac && !ctx.isAdmin && 'owner' in body && body.owner !== ctx.projectId) {
      throw forbidden(`You are not permitted to create images owned by '${body.owner}'.`);
    }
  }

  /** One change of a PATCH (Glance's update_property): the visibility it sets, then modify_image. */
  change(ctx: RequestContext, img: ImageRecord, name: string, value: unknown): void {
    if (name === 'owner' && !ctx.isAdmin) throw forbidden("Owner can't be updated by non admin.");
    if (name === 'visibility') this.visibility(ctx, imageTarget(img, ctx), value);
    this.image(ctx, img, 'modify_image', 'You do not own this image');
  }

  /** Glance's MemberAPIPolicy: get_image on the image first (404), then the member rule (403). */
  member(ctx: RequestContext, img: ImageRecord, action: string): void {
    const target = imageTarget(img, ctx);
    this.enforcer.enforceImage(ctx, 'get_image', target);
    this.enforcer.enforce(ctx, action, target);
  }

  /** Why members of this image may not be touched so (only shared images have them; legacy ownership), or null. */
  memberRefusal(ctx: RequestContext, img: ImageRecord, action: MemberAction): string | null {
    return memberRefusal(ctx, img, action, this.secureRbac);
  }

  /** publicize_image / communitize_image: a plain 403 (Glance does not hide the image here). */
  private visibility(ctx: RequestContext, target: ReturnType<typeof imageTarget>, visibility: unknown): void {
    if (visibility === 'public') this.enforcer.enforce(ctx, 'publicize_image', target);
    else if (visibility === 'community') this.enforcer.enforce(ctx, 'communitize_image', target);
  }

  /** Glance's check_is_image_mutable: admin, or the owning project (an ownerless image is nobody's). */
  private mustOwn(ctx: RequestContext, img: ImageRecord, message: string): void {
    if (ctx.isAdmin) return;
    if (img.owner === null || ctx.projectId === null || img.owner !== ctx.projectId) throw new HttpError(403, message);
  }
}
