import { open, type RootDatabase, type Database } from 'lmdb';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ImageRecord } from '../images/record.js';

/**
 * The image catalog: one LMDB environment under state_dir, an `images` database keyed by image id.
 * Writes resolve only after LMDB's durable commit, so an acknowledged change survives a crash.
 * A `deleted` database keeps the id of every deleted image (id -> deleted_at): Glance keeps deleted rows, so
 * an id is never reused (OSSN-0075: a reused id would let a new image pose as one that users trusted).
 */
export class Catalog {
  private root: RootDatabase;
  private images: Database<ImageRecord, string>;
  private deleted: Database<string, string>;

  constructor(stateDir: string) {
    const dir = path.join(stateDir, 'catalog');
    mkdirSync(dir, { recursive: true });
    this.root = open({ path: dir, compression: false });
    this.images = this.root.openDB<ImageRecord, string>({ name: 'images' });
    this.deleted = this.root.openDB<string, string>({ name: 'deleted' });
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

  /** Removes the record and tombstones its id in one transaction, so no crash leaves the id reusable. */
  async remove(id: string, deletedAt: string): Promise<void> {
    await this.images.transaction(() => {
      this.images.remove(id);
      this.deleted.put(id, deletedAt);
    });
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
