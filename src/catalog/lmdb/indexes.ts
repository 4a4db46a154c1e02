import type { ImageRecord } from '../../images/record.js';
import { encodeKey, type KeyPart } from './keys.js';

// The catalog's secondary indexes. Every entry is one key in the `image-index` database:
// [index name, ...partition values, ...sort tail], value = image id. The sort tail of a sort key K is
// [K, created_at, id] (Glance's tie-breakers), so a range of one partition is already in listing order.

export const SORTABLE = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'] as const;
export type SortKey = (typeof SORTABLE)[number];

/** The sort keys whose listing is also kept per visibility and per owner (the common listings). */
export const PARTITIONED: readonly string[] = ['created_at', 'name'];

/** What the tail of sort key K holds, in order. */
export function tailKeys(k: string): string[] {
  if (k === 'id') return ['id'];
  if (k === 'created_at') return ['created_at', 'id'];
  return [k, 'created_at', 'id'];
}

export const tail = (img: ImageRecord, k: string): KeyPart[] => tailKeys(k).map((f) => (img as any)[f] as KeyPart);

/** Import lock of the importer (src/images/importer.ts): an image holding it is in flight. */
const TASK = 'os_glance_import_task';
export const inFlight = (img: ImageRecord) =>
  img.status === 'saving' || img.status === 'importing' || img.status === 'uploading' || typeof img.properties[TASK] === 'string';

/** Every index key of one image. */
export function indexKeys(img: ImageRecord): Buffer[] {
  const keys: KeyPart[][] = [];
  for (const k of SORTABLE) keys.push([`sort/${k}`, ...tail(img, k)]);
  for (const k of PARTITIONED) {
    keys.push([`visibility/${k}`, img.visibility, ...tail(img, k)]);
    keys.push([`owner/${k}`, img.owner, ...tail(img, k)]);
  }
  for (const t of new Set(img.tags)) keys.push(['tag', t, ...tail(img, 'created_at')]);
  keys.push(['os_hidden', img.os_hidden, ...tail(img, 'created_at')]);
  if (inFlight(img)) keys.push(['in-flight', img.id]);
  return keys.map(encodeKey);
}
