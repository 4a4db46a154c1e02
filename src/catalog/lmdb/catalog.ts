import { ABORT, open, type RootDatabase, type Database } from 'lmdb';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { ImageRecord } from '../../images/record.js';
import type { MemberRecord, MemberStatus } from '../../images/member.js';
import { compareImages } from '../../images/query.js';
import { CatalogNotFound, type Catalog, type ListPage, type ListRequest } from '../catalog.js';
import { encodeKey, after, type KeyPart } from './keys.js';
import { PARTITIONED, indexKeys, inFlight } from './indexes.js';
import { merge, partitionScan, sorted, type IndexReader } from './scan.js';

/** Version of the index layout; a catalog written by an older imaged gets its indexes built at open. */
const SCHEMA = 1;
/** A filter whose index holds at most this many images is answered from that index, sorted in memory. */
const SMALL_SET = 1000;
/** A listing that must look at many images pauses after this many, so shows and downloads go on meanwhile. */
const SLICE = 500;

/**
 * The image catalog on LMDB: one environment under state_dir, an `images` database keyed by image id.
 * Writes resolve only after LMDB's durable commit, so an acknowledged change survives a crash.
 * A `deleted` database keeps the id of every deleted image (id -> deleted_at): Glance keeps deleted rows, so
 * an id is never reused (OSSN-0075: a reused id would let a new image pose as one that users trusted).
 * Image members (sharing) live in two databases written together: `image-members` keyed [image_id, member_id]
 * (the members of an image) and `member-images` keyed [member_id, status, image_id] (what is shared with a
 * project, by status), so both questions are range reads.
 * `image-index` holds the secondary indexes (./indexes.ts), each entry written in the transaction that writes
 * its record, so no crash leaves them apart.
 */
/** The filter compares String(value): "null" also names a missing value. */
const keyValues = (values: string[], nullable: boolean): KeyPart[] => (nullable && values.includes('null') ? [...values, null] : values);

/** The owners an owner filter allows (the first such filter: each must hold anyway), or null. */
function ownerFilter(req: ListRequest): KeyPart[] | null {
  const f = req.query.filters.find((x) => x.kind === 'in' && x.field === 'owner');
  return f && f.kind === 'in' ? keyValues(f.values, true) : null;
}

export class LmdbCatalog implements Catalog, IndexReader {
  private root: RootDatabase;
  private images: Database<ImageRecord, string>;
  private deleted: Database<string, string>;
  private members: Database<MemberRecord, [string, string]>;
  private shares: Database<string, [string, MemberStatus, string]>;
  readonly index: Database<string, Buffer>;
  private meta: Database<number, string>;
  /** Index entries and records read by listings and usage queries (tests and benchmarks watch it). */
  readonly stats = { keys: 0, records: 0 };

  constructor(stateDir: string) {
    const dir = path.join(stateDir, 'catalog');
    mkdirSync(dir, { recursive: true });
    this.root = open({ path: dir, compression: false, maxDbs: 32 });
    this.images = this.root.openDB<ImageRecord, string>({ name: 'images' });
    this.deleted = this.root.openDB<string, string>({ name: 'deleted' });
    this.members = this.root.openDB<MemberRecord, [string, string]>({ name: 'image-members' });
    this.shares = this.root.openDB<string, [string, MemberStatus, string]>({ name: 'member-images' });
    this.index = this.root.openDB<string, Buffer>({ name: 'image-index', keyEncoding: 'binary', encoding: 'string' });
    this.meta = this.root.openDB<number, string>({ name: 'catalog-meta' });
    this.migrate();
  }

  /**
   * A catalog from before the indexes (or of an older layout) gets them built here, in one write transaction
   * with the new schema version: a crash during it leaves the old catalog as it was, and the next start redoes it.
   */
  private migrate() {
    if ((this.meta.get('schema') ?? 0) >= SCHEMA) return;
    this.root.transactionSync(() => {
      for (const { key } of this.index.getRange()) this.index.remove(key);
      for (const { value } of this.images.getRange()) this.writeIndex(undefined, value);
      this.meta.put('schema', SCHEMA);
    });
  }

  /** Index entries of `next` in, those only `prev` had out; call inside the record's write transaction. */
  private writeIndex(prev: ImageRecord | undefined, next: ImageRecord | undefined) {
    const old = new Map((prev ? indexKeys(prev) : []).map((k) => [k.toString('latin1'), k]));
    for (const k of next ? indexKeys(next) : []) {
      if (!old.delete(k.toString('latin1'))) this.index.putSync(k, next!.id);
    }
    for (const k of old.values()) this.index.removeSync(k);
  }

  /** Writes a record with its index entries (inside a write transaction). */
  private putImage(img: ImageRecord) {
    this.writeIndex(this.images.get(img.id), img);
    this.images.put(img.id, img);
  }

  get(id: string): ImageRecord | undefined {
    return this.images.get(id);
  }

  load(id: string): ImageRecord | undefined {
    this.stats.records++;
    return this.images.get(id);
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
        this.putImage(result);
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
      this.putImage(img);
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
      this.writeIndex(this.images.get(id), undefined);
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

  async list(req: ListRequest): Promise<ListPage> {
    const { query } = req;
    const cmp = compareImages(query.sort);
    // an owner filter in a partitioned order is read straight from the owner index, in order
    const owners = PARTITIONED.includes(query.sort[0].key) ? ownerFilter(req) : null;
    const small = this.smallestFilterSet(req, owners !== null);
    const source = small
      ? sorted([...small].flatMap((id) => this.load(id) ?? []), cmp, req.marker)
      : merge(owners ? owners.map((o) => this.scan(req, `owner/${query.sort[0].key}`, [o], cmp)) : this.listingSources(req, cmp), cmp);
    const out: ImageRecord[] = [];
    let seen = 0;
    for (const img of source) {
      if (req.accept(img)) {
        out.push(img);
        if (out.length > query.limit) break;
      }
      if (++seen % SLICE === 0) await yieldToLoop();
    }
    return { images: out.slice(0, query.limit), more: out.length > query.limit };
  }

  /**
   * Ids from the index of the most selective filter (name, status, formats, owner, id, tag, os_hidden=true), when
   * one holds at most SMALL_SET images; null when none does. A superset of the answer: `accept` decides.
   */
  private smallestFilterSet(req: ListRequest, skipOwner: boolean): Set<string> | null {
    const sets: Array<Array<[string, KeyPart]>> = [];
    for (const f of req.query.filters) {
      if (skipOwner && f.kind === 'in' && f.field === 'owner') continue;
      if (f.kind === 'tag') sets.push([['tag', f.value]]);
      if (f.kind !== 'in') continue;
      if (f.field === 'id') {
        if (f.values.length <= SMALL_SET) return new Set(f.values);
        continue;
      }
      const index = f.field === 'owner' ? 'owner/created_at' : `sort/${f.field}`;
      sets.push(keyValues(f.values, f.field !== 'status').map((v) => [index, v]));
    }
    if (req.query.osHidden === true) sets.push([['os_hidden', true]]);
    let best: Set<string> | null = null;
    for (const prefixes of sets) {
      if (best?.size === 0) break;
      const ids = new Set<string>();
      const cap = Math.min(SMALL_SET, best ? best.size - 1 : SMALL_SET);
      for (const [index, v] of prefixes) {
        const base = encodeKey([index, v]);
        for (const { value } of this.index.getRange({ start: base, end: after(base), limit: cap + 1 - ids.size })) {
          this.stats.keys++;
          ids.add(value);
        }
        if (ids.size > cap) break;
      }
      if (ids.size <= cap) best = ids;
    }
    return best;
  }

  /**
   * Streams whose union holds every image the caller may list, in the listing's order: per visibility and per
   * owner for the partitioned sort keys, the whole sort index otherwise (filtered as it is read).
   */
  private listingSources(req: ListRequest, cmp: (x: ImageRecord, y: ImageRecord) => number): Iterator<ImageRecord>[] {
    const { sort, visibility: f } = req.query;
    const k = sort[0].key;
    const scan = (index: string, parts: KeyPart[]) => this.scan(req, index, parts, cmp);
    if (!PARTITIONED.includes(k) || (req.isAdmin && (f === null || f === 'all'))) return [scan(`sort/${k}`, [])];
    if (req.isAdmin) return [scan(`visibility/${k}`, [f])];
    // Glance's rules (src/auth/visibility.ts inListing): own images, public, community when asked, shared with the caller
    const out = [scan(`owner/${k}`, [req.projectId])];
    if (f === null || f === 'all' || f === 'public') out.push(scan(`visibility/${k}`, ['public']));
    if (f === 'all' || f === 'community') out.push(scan(`visibility/${k}`, ['community']));
    if (req.projectId !== null && (f === null || f === 'all' || f === 'shared') && req.shared.size > 0) {
      out.push(sorted([...req.shared.keys()].flatMap((id) => this.load(id) ?? []), cmp, req.marker));
    }
    return out;
  }

  private scan(req: ListRequest, index: string, parts: KeyPart[], cmp: (x: ImageRecord, y: ImageRecord) => number) {
    return partitionScan(this, encodeKey([index, ...parts]), req.query.sort, cmp, req.marker);
  }

  *ownedBy(owner: string | null): Iterable<ImageRecord> {
    const base = encodeKey(['owner/created_at', owner]);
    for (const { value } of this.index.getRange({ start: base, end: after(base) })) {
      this.stats.keys++;
      const img = this.load(value);
      if (img) yield img;
    }
  }

  inFlight(): ImageRecord[] {
    const base = encodeKey(['in-flight']);
    const ids = [...this.index.getRange({ start: base, end: after(base) })].map((e) => e.value);
    return ids.flatMap((id) => this.get(id) ?? []).filter(inFlight);
  }

  /** Another named database in the same environment (e.g. the cache index), sharing its durability. */
  subDb<T>(name: string): Database<T, string> {
    return this.root.openDB<T, string>({ name });
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
