// Glance's legacy quotas (glance/quota/__init__.py, glance/api/common.py): counts of tags, extra properties
// and locations per image, and user_storage_quota over the bytes a project stores. Negative counts and a
// zero storage quota mean unlimited, as in Glance.
import type { ImageRecord } from './record.js';
import { tooLarge } from '../util/errors.js';

export interface Quotas {
  tags: number;
  properties: number;
  locations: number;
  /** bytes; 0 = unlimited */
  storage: number;
}

const limitExceeded = (what: string, attempted: number, maximum: number) =>
  tooLarge(`The limit has been exceeded on the number of allowed image ${what}. Attempted: ${attempted}, Maximum: ${maximum}`);

export function checkTagQuota(q: Quotas, tags: string[]): void {
  if (q.tags >= 0 && tags.length > q.tags) throw limitExceeded('tags', tags.length, q.tags);
}

/** Properties in Glance's reserved os_glance namespace don't count. */
export function checkPropertyQuota(q: Quotas, properties: Record<string, unknown>): void {
  if (q.properties < 0) return;
  const n = Object.keys(properties).filter((k) => !k.startsWith('os_glance')).length;
  if (n > q.properties) throw limitExceeded('properties', n, q.properties);
}

export function checkLocationQuota(q: Quotas, attempted: number): void {
  if (q.locations >= 0 && attempted > q.locations) throw limitExceeded('locations', attempted, q.locations);
}

/** user_storage_quota as Glance parses it: digits, optionally B, KB, MB, GB or TB (powers of 1024), no spaces. */
export function parseStorageQuota(s: string): number {
  const m = /^(\d+)((K|M|G|T)?B)?$/.exec(s);
  if (!m) throw new Error(`invalid value ${JSON.stringify(s)}: expected a number of bytes, optionally followed by B, KB, MB, GB or TB`);
  const factor = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[3] as 'K'] ?? 1;
  const n = Number(m[1]) * factor;
  if (!Number.isSafeInteger(n)) throw new Error(`invalid value ${JSON.stringify(s)}: too large`);
  return n;
}

/** Bytes a project stores: each image's size once per location, killed images aside (user_get_storage_usage). */
export function storageUsage(images: Iterable<ImageRecord>, owner: string | null, exceptId?: string): number {
  let total = 0;
  for (const img of images) {
    if (img.owner !== owner || img.id === exceptId || !img.size || img.status === 'killed' || img.status === 'deleted') continue;
    total += img.size * img.locations.length;
  }
  return total;
}

/** Glance's words: uploads say "Image exceeds the storage quota: …", PATCH of locations says "Denying attempt …". */
export const UPLOAD = 'Image exceeds the storage quota: ';
export const LOCATION = 'Denying attempt to upload image because it exceeds the quota: ';

/** StorageQuotaFull as a 413; size null = not announced. */
export const storageQuotaFull = (size: number | null, remaining: number, prefix = UPLOAD) =>
  tooLarge(`${prefix}The size of the data ${size ?? 'None'} will exceed the limit. ${remaining} bytes remaining.`);

/**
 * Bytes left for `owner` under the storage quota, or null when unlimited; throws Glance's 413 when the
 * announced size (or, unknown, any byte at all) does not fit (check_quota).
 */
export function remainingStorage(
  q: Quotas, images: () => Iterable<ImageRecord>, owner: string | null, size: number | null, exceptId?: string, prefix = UPLOAD,
): number | null {
  if (q.storage <= 0) return null; // unlimited: no need to read the catalog
  const remaining = q.storage - storageUsage(images(), owner, exceptId);
  if (size === null ? remaining <= 0 : size > remaining) throw storageQuotaFull(size, remaining, prefix);
  return remaining;
}

/** What a transfer may still add under a quota or limit, and the 413 to answer when it adds more. */
export interface SizeAllowance {
  bytes: number;
  refusal(received: number): Error;
}

/**
 * ingest's bounds from a hard cap (image_size_cap, free space: their own message) and the allowances that apply
 * (null = none): the transfer stops at the smallest, with that one's refusal.
 */
export function withinAllowances(cap: number, allowances: (SizeAllowance | null)[]): { maxBytes: number; overLimit: (n: number) => Error | null } {
  const tighter = allowances.filter((a): a is SizeAllowance => a !== null && a.bytes < cap).sort((a, b) => a.bytes - b.bytes);
  return {
    maxBytes: Math.min(cap, ...tighter.map((a) => a.bytes)),
    overLimit: (n) => tighter.find((a) => n > a.bytes)?.refusal(n) ?? null,
  };
}
