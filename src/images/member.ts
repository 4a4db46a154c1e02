import { apiTime } from '../util/time.js';
// An image member (the image shared with a project) as kept in the catalog, and its Glance API view.

export const MEMBER_STATUSES = ['pending', 'accepted', 'rejected'] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

export interface MemberRecord {
  image_id: string;
  /** The project the image is shared with (Glance's member, a tenant id). */
  member_id: string;
  status: MemberStatus;
  created_at: string;
  updated_at: string;
}

export const isMemberStatus = (v: unknown): v is MemberStatus => (MEMBER_STATUSES as readonly unknown[]).includes(v);

/** Glance's member JSON (api/v2/image_members.py _format_image_member), key order included. */
export function memberView(m: MemberRecord): Record<string, unknown> {
  return {
    member_id: m.member_id,
    image_id: m.image_id,
    status: m.status,
    created_at: apiTime(m.created_at),
    updated_at: apiTime(m.updated_at),
    schema: '/v2/schemas/member',
  };
}
