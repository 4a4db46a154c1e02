import type { ImageRecord } from '../../images/record.js';
import { encodePart, type KeyPart } from './keys.js';

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

const names = new Map<string, Buffer>();
/** An index name's encoded component (the same few names over and over). */
const named = (n: string) => names.get(n) ?? (names.set(n, encodePart(n)), names.get(n)!);

/** Every index key of one image (each field encoded once: this runs for every write). */
export function indexKeys(img: ImageRecord): Buffer[] {
  const enc = new Map<string, Buffer>();
  const field = (f: string) => enc.get(f) ?? (enc.set(f, encodePart((img as any)[f] as KeyPart)), enc.get(f)!);
  const tailOf = (k: string) => tailKeys(k).map(field);
  const keys: Buffer[][] = [];
  for (const k of SORTABLE) keys.push([named(`sort/${k}`), ...tailOf(k)]);
  for (const k of PARTITIONED) {
    keys.push([named(`visibility/${k}`), field('visibility'), ...tailOf(k)]);
    keys.push([named(`owner/${k}`), field('owner'), ...tailOf(k)]);
  }
  for (const t of new Set(img.tags)) keys.push([named('tag'), encodePart(t), ...tailOf('created_at')]);
  keys.push([named('os_hidden'), field('os_hidden'), ...tailOf('created_at')]);
  if (inFlight(img)) keys.push([named('in-flight'), field('id')]);
  // one allocation for all of them
  let total = 0;
  for (const parts of keys) for (const p of parts) total += p.length;
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  return keys.map((parts) => {
    const from = at;
    for (const p of parts) at += p.copy(buf, at);
    return buf.subarray(from, at);
  });
}
