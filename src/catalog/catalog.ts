import { open, type RootDatabase, type Database } from 'lmdb';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ImageRecord } from '../images/record.js';

/**
 * The image catalog: one LMDB environment under state_dir, an `images` database keyed by image id.
 * Writes resolve only after LMDB's durable commit, so an acknowledged change survives a crash.
 */
export class Catalog {
  private root: RootDatabase;
  private images: Database<ImageRecord, string>;

  constructor(stateDir: string) {
    const dir = path.join(stateDir, 'catalog');
    mkdirSync(dir, { recursive: true });
    this.root = open({ path: dir, compression: false });
    this.images = this.root.openDB<ImageRecord, string>({ name: 'images' });
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

  /** Inserts only if the id is free; false when it is taken. */
  async insert(img: ImageRecord): Promise<boolean> {
    return this.images.ifNoExists(img.id, () => {
      this.images.put(img.id, img);
    });
  }

  async remove(id: string): Promise<void> {
    await this.images.remove(id);
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
