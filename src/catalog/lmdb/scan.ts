import type { Database } from 'lmdb';
import type { ImageRecord } from '../../images/record.js';
import type { ListQuery } from '../../images/query.js';
import { after, encodeKey, partLength, type KeyPart } from './keys.js';
import { tailKeys } from './indexes.js';

// Reading an index partition in the listing's order. A partition's entries are sorted by their tail
// [K, created_at, id] ascending; the listing may want each of those keys in its own direction, so the scan walks
// the tail level by level (one seek per distinct value where directions change) and reads a plain range where
// they do not. Sort keys the tail does not hold (e.g. name then size) are sorted in memory within the groups of
// equal leading values; only such groups are ever read whole.

export interface IndexReader {
  index: Database<string, Buffer>;
  load(id: string): ImageRecord | undefined;
  stats: { keys: number; records: number };
}

type Cmp = (x: ImageRecord, y: ImageRecord) => number;

const concat = (...b: Uint8Array[]) => Buffer.concat(b);

function* loaded(r: IndexReader, ids: Iterable<string>): Generator<ImageRecord> {
  for (const id of ids) {
    const img = r.load(id);
    if (img) yield img; // removed since the index was read
  }
}

/** The entries of a bounded range, read at once (no read transaction stays open across the scan's pauses). */
function range(r: IndexReader, o: { start: Buffer; end: Buffer; reverse?: boolean; limit?: number }): Array<{ key: Buffer; value: string }> {
  const out = [...r.index.getRange(o)].map((e) => ({ key: Buffer.from(e.key), value: e.value }));
  r.stats.keys += out.length;
  return out;
}

/** A plain range over `prefix` in one direction, starting after the full key `from` (exclusive), in growing batches. */
function* plain(r: IndexReader, prefix: Buffer, dir: 'asc' | 'desc', from: Buffer | null): Generator<ImageRecord> {
  let start = dir === 'asc' ? (from ? after(from) : prefix) : (from ?? after(prefix));
  let skip: Buffer | null = dir === 'desc' ? from : null;
  let batch = 16;
  for (;;) {
    // reverse ranges include their start: one more row, as the first may be the one already seen
    const limit = dir === 'asc' ? batch : batch + 1;
    const rows = range(r, dir === 'asc' ? { start, end: after(prefix), limit } : { start, end: prefix, reverse: true, limit });
    for (const { key, value } of rows) {
      if (skip && key.equals(skip)) continue;
      yield* loaded(r, [value]);
      start = dir === 'asc' ? after(key) : key;
      skip = dir === 'asc' ? null : key;
    }
    if (rows.length < limit) return;
    batch = Math.min(batch * 2, 512);
  }
}

/**
 * The images of one partition (`base` = encoded [index, ...partition values]) whose tail is that of sort key
 * `sort[0].key`, in the order `sort`, strictly after `marker` when given.
 */
export function* partitionScan(r: IndexReader, base: Buffer, sort: ListQuery['sort'], cmp: Cmp, marker: ImageRecord | null): Generator<ImageRecord> {
  const keys = tailKeys(sort[0].key);
  let m = 0;
  while (m < keys.length && m < sort.length && sort[m].key === keys[m]) m++;
  const dirs = sort.slice(0, m).map((s) => s.dir);
  const markerParts = marker ? keys.map((k) => encodeKey([(marker as any)[k] as KeyPart])) : [];
  const whole = m === keys.length;

  function* level(P: Buffer, i: number, onPath: boolean): Generator<ImageRecord> {
    if (i === m) {
      // a group of equal leading values: the rest of the order in memory
      const imgs = [...loaded(r, range(r, { start: P, end: after(P) }).map((e) => e.value))].sort(cmp);
      for (const img of imgs) if (!onPath || cmp(img, marker!) > 0) yield img;
      return;
    }
    if (whole && dirs.slice(i).every((d) => d === dirs[i])) {
      yield* plain(r, P, dirs[i], onPath ? concat(P, ...markerParts.slice(i)) : null);
      return;
    }
    let cursor: Buffer | null = null;
    if (onPath) {
      cursor = markerParts[i];
      yield* level(concat(P, cursor), i + 1, true);
    }
    for (;;) {
      let next: Buffer | undefined;
      if (dirs[i] === 'asc') {
        next = range(r, { start: cursor ? after(concat(P, cursor)) : P, end: after(P), limit: 1 })[0]?.key;
      } else {
        const here = cursor ? concat(P, cursor) : null;
        next = range(r, { start: here ?? after(P), end: P, reverse: true, limit: 2 }).find((e) => !here || !e.key.subarray(0, here.length).equals(here))?.key;
      }
      if (!next) return;
      cursor = next.subarray(P.length, P.length + partLength(next, P.length));
      yield* level(concat(P, cursor), i + 1, false);
    }
  }
  return yield* level(base, 0, marker !== null);
}

/** Images held in memory (e.g. those shared with the caller), in order, after `marker`. */
export function* sorted(imgs: ImageRecord[], cmp: Cmp, marker: ImageRecord | null): Generator<ImageRecord> {
  for (const img of imgs.sort(cmp)) if (!marker || cmp(img, marker) > 0) yield img;
}

/** Merges streams that share one order; an image found by several (public and owned) comes once. */
export function* merge(streams: Iterator<ImageRecord>[], cmp: Cmp): Generator<ImageRecord> {
  const heads = streams.map((s) => s.next());
  const seen = new Set<string>();
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (!h.done && (best < 0 || cmp(h.value, (heads[best] as IteratorYieldResult<ImageRecord>).value) < 0)) best = i;
    }
    if (best < 0) return;
    const img = (heads[best] as IteratorYieldResult<ImageRecord>).value;
    heads[best] = streams[best].next();
    if (!seen.has(img.id)) {
      seen.add(img.id);
      yield img;
    }
  }
}
