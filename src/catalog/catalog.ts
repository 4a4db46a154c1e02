import type { Database } from 'lmdb';
import type { ImageRecord } from '../images/record.js';
import type { MemberRecord, MemberStatus } from '../images/member.js';
import type { ListQuery } from '../images/query.js';

/**
 * The image catalog as the image service, members, importer, quotas and cache see it. The embedded backend is
 * LMDB (src/catalog/lmdb/); a shared SQL catalog on Glance's own database is meant to sit beside it behind
 * this same interface.
 *
 * Deleted ids are kept for ever (Glance keeps deleted rows, so an id is never reused: OSSN-0075). Writes
 * resolve only after a durable commit.
 */
export interface Catalog {
  get(id: string): ImageRecord | undefined;
  /** Inserts only if the id was never used, by a live or a deleted image; false when it was. */
  insert(img: ImageRecord): Promise<boolean>;
  /** Atomic read-modify-write: `fn` sees the committed record and returns the new one (or throws). */
  update(id: string, fn: (img: ImageRecord) => ImageRecord): Promise<ImageRecord>;
  /** Removes the record and its members and tombstones its id, all or nothing. */
  remove(id: string, deletedAt: string): Promise<void>;

  /** The members of an image, in member id order. */
  membersOf(imageId: string): MemberRecord[];
  member(imageId: string, memberId: string): MemberRecord | undefined;
  /** Ids of the images shared with `memberId` (with that status, or any) -> the member's status. */
  sharedWith(memberId: string, status: MemberStatus | null): Map<string, MemberStatus>;
  /** Adds a member; `check` sees the image, its member count and an existing membership, and throws to refuse. */
  addMember(m: MemberRecord, check: (img: ImageRecord, count: number, existing: MemberRecord | undefined) => void): Promise<void>;
  updateMember(imageId: string, memberId: string, fn: (m: MemberRecord) => MemberRecord): Promise<MemberRecord>;
  /** Removes a membership; false when there was none. */
  removeMember(imageId: string, memberId: string): Promise<boolean>;

  /** One page of GET /v2/images (see ListRequest). */
  list(req: ListRequest): Promise<ListPage>;
  /** Every image of one project (quota usage); `null` = the ownerless images. */
  ownedBy(owner: string | null): Iterable<ImageRecord>;
  /** Images a restart must look at: uploads (`saving`), imports (`importing`, `uploading`, an import lock). */
  inFlight(): ImageRecord[];

  /** Another named database for node-local state (e.g. the cache index), sharing the catalog's durability. */
  subDb<T>(name: string): Database<T, string>;
  close(): Promise<void>;
}

/**
 * A listing: the parsed query (filters, sort, limit) and the caller, which a backend uses to choose what to
 * read; `accept` is the exact test of every listed image (visibility rules, filters, policy), so a backend's
 * indexes only narrow what it reads and never change the answer.
 */
export interface ListRequest {
  query: ListQuery;
  projectId: string | null;
  isAdmin: boolean;
  /** What is shared with the caller's project with the asked member_status (image id -> status). */
  shared: Map<string, MemberStatus>;
  /** The page starts after this image (already checked to be in the listing). */
  marker: ImageRecord | null;
  accept(img: ImageRecord): boolean;
}

export interface ListPage {
  images: ImageRecord[];
  /** More images follow the page. */
  more: boolean;
}

export class CatalogNotFound extends Error {
  constructor(public readonly id: string) {
    super(`No image found with ID ${id}`);
  }
}
