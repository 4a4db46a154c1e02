import { ABORT, open, type RootDatabase, type Database } from 'lmdb';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ImageRecord } from '../images/record.js';
import type { MemberRecord, MemberStatus } from '../images/member.js';

/**
 * The image catalog: one LMDB environment under state_dir, an `images` database keyed by image id.
 * Writes resolve only after LMDB's durable commit, so an acknowledged change survives a crash.
 * A `deleted` database keeps the id of every deleted image (id -> deleted_at): Glance keeps deleted rows, so
 * an id is never reused (OSSN-0075: a reused id would let a new image pose as one that users trusted).
 * Image members (sharing) live in two databases written together: `image-members` keyed [image_id, member_id]
 * (the members of an image) and `member-images` keyed [member_id, status, image_id] (what is shared with a
 * project, by status), so both questions are range reads.
 */
export class Catalog {
  private root: RootDatabase;
  private images: Database<ImageRecord, string>;
  private deleted: Database<string, string>;
  private members: Database<MemberRecord, [string, string]>;
  private shares: Database<string, [string, MemberStatus, string]>;

  constructor(stateDir: string) {
    const dir = path.join(stateDir, 'catalog');
    mkdirSync(dir, { recursive: true });
    this.root = open({ path: dir, compression: false });
    this.images = this.root.openDB<ImageRecord, string>({ name: 'images' });
    this.deleted = this.root.openDB<string, string>({ name: 'deleted' });
    this.members = this.root.openDB<MemberRecord, [string, string]>({ name: 'image-members' });
    this.shares = this.root.openDB<string, [string, MemberStatus, string]>({ name: 'member-images' });
  }

  get(id: string): ImageRecord | undefined {
    return this.images.get(id);
  }

  all(): ImageRecord[] {
    const out: ImageRecord[] = [];
    for (const { value } of this.images.getRange()) out.push(value);
    return out;
  }

  async put(img: ImageRecord): Promise<void> {
    await this.images.put(img.id, img);
  }

  /** Atomic read-modify-write: `fn` sees the committed record and returns the new one (or throws). */
  async update(id: string, fn: (img: ImageRecord) => ImageRecord): Promise<ImageRecord> {
    let result: ImageRecord | undefined;
    let error: unknown;
    await this.images.transaction(() => {
      const cur = this.images.get(id);
      if (!cur) return;
      try {
        result = fn(structuredClone(cur));
        this.images.put(id, result);
      } catch (e) {
        error = e;
      }
    });
    if (error) throw error;
    if (!result) throw new CatalogNotFound(id);
    return result;
  }

  /** Inserts only if the id was never used, by a live or a deleted image; false when it was. */
  async insert(img: ImageRecord): Promise<boolean> {
    return this.images.transaction(() => {
      if (this.images.doesExist(img.id) || this.deleted.doesExist(img.id)) return false;
      this.images.put(img.id, img);
      return true;
    });
  }

  /**
   * Removes the record, its members and tombstones its id in one transaction, so no crash leaves the id
   * reusable or a membership pointing at nothing.
   */
  async remove(id: string, deletedAt: string): Promise<void> {
    await this.images.transaction(() => {
      for (const m of this.membersOf(id)) this.dropMember(m);
      this.images.remove(id);
      this.deleted.put(id, deletedAt);
    });
  }

  /** The members of an image, in key (member id) order. */
  membersOf(imageId: string): MemberRecord[] {
    const out: MemberRecord[] = [];
    for (const { key, value } of this.members.getRange({ start: [imageId] })) {
      if (key[0] !== imageId) break;
      out.push(value);
    }
    return out;
  }

  member(imageId: string, memberId: string): MemberRecord | undefined {
    return this.members.get([imageId, memberId]);
  }

  /** Ids of the images shared with `memberId` (with that status, or any) -> the member's status. */
  sharedWith(memberId: string, status: MemberStatus | null): Map<string, MemberStatus> {
    const out = new Map<string, MemberStatus>();
    const start: [string] | [string, MemberStatus] = status ? [memberId, status] : [memberId];
    for (const { key } of this.shares.getRange({ start })) {
      if (key[0] !== memberId || (status && key[1] !== status)) break;
      out.set(key[2], key[1]);
    }
    return out;
  }

  /**
   * Adds a member in one transaction with its checks: `check` sees the image, its member count and any existing
   * membership of `m.member_id`, and throws to refuse (quota, duplicate). The image must still exist.
   */
  async addMember(m: MemberRecord, check: (img: ImageRecord, count: number, existing: MemberRecord | undefined) => void): Promise<void> {
    await this.inTransaction(() => {
      const img = this.images.get(m.image_id);
      if (!img) throw new CatalogNotFound(m.image_id);
      check(img, this.membersOf(m.image_id).length, this.members.get([m.image_id, m.member_id]));
      this.putMember(m);
    });
  }

  /** Atomic read-modify-write of a membership; the member-images index follows its status. */
  async updateMember(imageId: string, memberId: string, fn: (m: MemberRecord) => MemberRecord): Promise<MemberRecord> {
    return this.inTransaction(() => {
      const cur = this.members.get([imageId, memberId]);
      if (!cur) throw new CatalogNotFound(imageId);
      const next = fn(structuredClone(cur));
      this.dropMember(cur);
      this.putMember(next);
      return next;
    });
  }

  /** Removes a membership; false when there was none. */
  async removeMember(imageId: string, memberId: string): Promise<boolean> {
    return this.inTransaction(() => {
      const cur = this.members.get([imageId, memberId]);
      if (!cur) return false;
      this.dropMember(cur);
      return true;
    });
  }

  private putMember(m: MemberRecord) {
    this.members.put([m.image_id, m.member_id], m);
    this.shares.put([m.member_id, m.status, m.image_id], '');
  }

  private dropMember(m: MemberRecord) {
    this.members.remove([m.image_id, m.member_id]);
    this.shares.remove([m.member_id, m.status, m.image_id]);
  }

  /** One write transaction; an error thrown by `fn` discards its writes and is rethrown to the caller. */
  private async inTransaction<T>(fn: () => T): Promise<T> {
    let result: T | undefined;
    let error: unknown;
    let failed = false;
    await this.root.transaction(() => {
      try {
        result = fn();
      } catch (e) {
        failed = true;
        error = e;
        return ABORT;
      }
    });
    if (failed) throw error;
    return result as T;
  }

  /** Another named database in the same environment (e.g. the cache index), sharing its durability. */
  subDb<T>(name: string): Database<T, string> {
    return this.root.openDB<T, string>({ name });
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

export class CatalogNotFound extends Error {
  constructor(public readonly id: string) {
    super(`No image found with ID ${id}`);
  }
}
