import type { ImageRecord } from './record.js';
import { badRequest } from '../util/errors.js';
import { VISIBILITIES } from './schema.js';
import { MEMBER_STATUSES, type MemberStatus } from './member.js';

// Glance's list filters, sort keys and paging for GET /v2/images.

// Exactly Glance's (api/v2/images.py _available_sort_keys): anything else is a 400 there.
export const SORT_KEYS = new Set(['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at']);
export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 1000;

/**
 * One filter of GET /v2/images, kept as data (not a closure) so a catalog can answer it from an index or in
 * SQL; `matches` below is its meaning.
 */
export type ListFilter =
  | { kind: 'in'; field: 'name' | 'status' | 'container_format' | 'disk_format' | 'owner' | 'id'; values: string[] }
  | { kind: 'tag'; value: string }
  | { kind: 'size'; op: 'min' | 'max'; n: number }
  | { kind: 'protected'; value: boolean }
  | { kind: 'time'; field: 'created_at' | 'updated_at'; op: string; t: number }
  | { kind: 'property'; key: string; value: string };

export interface ListQuery {
  filters: ListFilter[];
  visibility: string | null; // explicit visibility filter, or null for the default listing
  memberStatus: MemberStatus | 'all'; // which memberships list a shared image (Glance's default: accepted)
  osHidden: boolean | null;
  sort: Array<{ key: string; dir: 'asc' | 'desc' }>;
  limit: number;
  marker: string | null;
}

const OPS = new Set(['gt', 'gte', 'lt', 'lte', 'eq', 'neq']);

function parseBool(name: string, v: string): boolean {
  const l = v.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(l)) return true;
  if (['false', '0', 'no', 'off'].includes(l)) return false;
  throw badRequest(`Invalid value for ${name}: ${v}; expected a boolean`);
}

function parseInt10(name: string, v: string): number {
  if (!/^\d+$/.test(v.trim())) throw badRequest(`Invalid value for ${name}: ${v}; expected a non-negative integer`);
  return Number(v);
}

/** `in:a,b` list syntax that Glance accepts for name, status, container_format, disk_format, id. */
function inList(v: string): string[] | null {
  if (!v.startsWith('in:')) return null;
  return v.slice(3).split(',').map((s) => s.replace(/^"(.*)"$/, '$1'));
}

/** Comparison filter on a timestamp: `gte:2026-11-23T00:00:00Z`, or a bare value meaning eq. */
function timeFilter(name: 'created_at' | 'updated_at', raw: string): ListFilter {
  const idx = raw.indexOf(':');
  let op = 'eq';
  let value = raw;
  if (idx > 0 && OPS.has(raw.slice(0, idx))) {
    op = raw.slice(0, idx);
    value = raw.slice(idx + 1);
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw badRequest(`Invalid time format for ${name}: ${value}`);
  return { kind: 'time', field: name, op, t };
}

/** Does the image pass the filter (Glance's meaning of each list parameter)? */
export function matches(img: ImageRecord, f: ListFilter): boolean {
  switch (f.kind) {
    case 'in': return f.values.includes(String(img[f.field]));
    case 'tag': return img.tags.includes(f.value);
    case 'size': return img.size !== null && (f.op === 'min' ? img.size >= f.n : img.size <= f.n);
    case 'protected': return img.protected === f.value;
    case 'time': {
      const x = Date.parse(img[f.field]);
      switch (f.op) {
        case 'gt': return x > f.t;
        case 'gte': return x >= f.t;
        case 'lt': return x < f.t;
        case 'lte': return x <= f.t;
        case 'neq': return x !== f.t;
        default: return x === f.t;
      }
    }
    case 'property': {
      const k = f.key;
      return String(img.properties[k] ?? (img as any)[k]) === f.value && (k in img.properties || k in img);
    }
  }
}

export function parseListQuery(q: URLSearchParams): ListQuery {
  const filters: ListQuery['filters'] = [];
  let visibility: string | null = null;
  let memberStatus: ListQuery['memberStatus'] = 'accepted';
  let osHidden: boolean | null = null;
  let limit = DEFAULT_LIMIT;
  let marker: string | null = null;
  const sort: ListQuery['sort'] = [];
  const sortKeys: string[] = [];
  const sortDirs: string[] = [];

  for (const [k, v] of q) {
    switch (k) {
      case 'limit': {
        limit = parseInt10('limit', v);
        if (limit > MAX_LIMIT) limit = MAX_LIMIT;
        break;
      }
      case 'marker': marker = v; break;
      case 'sort_key': sortKeys.push(...v.split(',').map((s) => s.trim())); break;
      case 'sort_dir': sortDirs.push(...v.split(',').map((s) => s.trim())); break;
      case 'sort': {
        for (const part of v.split(',')) {
          const [key, dir = 'desc'] = part.trim().split(':');
          if (!SORT_KEYS.has(key)) throw badRequest(`Invalid sort key: ${key}. It must be one of the following: ${[...SORT_KEYS].join(', ')}.`);
          if (dir !== 'asc' && dir !== 'desc') throw badRequest(`Invalid sort direction: ${dir}`);
          sort.push({ key, dir });
        }
        break;
      }
      case 'visibility': {
        if (v !== 'all' && !VISIBILITIES.includes(v)) throw badRequest(`Invalid visibility value: ${v}`);
        visibility = v;
        break;
      }
      case 'os_hidden': osHidden = parseBool('os_hidden', v); break;
      case 'member_status': {
        if (v !== 'all' && !(MEMBER_STATUSES as readonly string[]).includes(v)) throw badRequest(`Invalid status: ${v}`);
        memberStatus = v as ListQuery['memberStatus'];
        break;
      }
      case 'status': {
        // Glance does not validate it: an unknown status simply matches no image.
        filters.push({ kind: 'in', field: 'status', values: inList(v) ?? [v] });
        break;
      }
      case 'name': case 'container_format': case 'disk_format': case 'owner': case 'id': {
        filters.push({ kind: 'in', field: k as 'name', values: inList(v) ?? [v] });
        break;
      }
      case 'tag': filters.push({ kind: 'tag', value: v }); break;
      case 'size_min': filters.push({ kind: 'size', op: 'min', n: parseInt10(k, v) }); break;
      case 'size_max': filters.push({ kind: 'size', op: 'max', n: parseInt10(k, v) }); break;
      case 'protected': filters.push({ kind: 'protected', value: parseBool(k, v) }); break;
      case 'created_at': case 'updated_at': filters.push(timeFilter(k, v)); break;
      default: {
        // Any other key filters on an extra property, as Glance does.
        filters.push({ kind: 'property', key: k, value: v });
      }
    }
  }
  if (sort.length > 0 && (sortKeys.length > 0 || sortDirs.length > 0)) {
    throw badRequest('The `sort` parameter cannot be combined with `sort_key` or `sort_dir`');
  }
  if (sort.length === 0) {
    const keys = sortKeys.length ? sortKeys : ['created_at'];
    if (sortDirs.length > 1 && sortDirs.length !== keys.length) {
      throw badRequest('Number of sort dirs does not match the number of sort keys');
    }
    keys.forEach((key, i) => {
      if (!SORT_KEYS.has(key)) throw badRequest(`Invalid sort key: ${key}. It must be one of the following: ${[...SORT_KEYS].join(', ')}.`);
      const dir = sortDirs[sortDirs.length === 1 ? 0 : i] ?? 'desc';
      if (dir !== 'asc' && dir !== 'desc') throw badRequest(`Invalid sort direction: ${dir}`);
      sort.push({ key, dir });
    });
  }
  // Glance always breaks ties by created_at then id, so paging is stable.
  if (!sort.some((s) => s.key === 'created_at')) sort.push({ key: 'created_at', dir: 'desc' });
  if (!sort.some((s) => s.key === 'id')) sort.push({ key: 'id', dir: 'desc' });
  return { filters, visibility, memberStatus, osHidden, sort, limit, marker };
}

function cmp(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1; // nulls first ascending, as SQL in Glance's sqlite/mysql
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return String(a) < String(b) ? -1 : 1;
}

/** The listing's order: negative when `x` comes before `y`. */
export function compareImages(sort: ListQuery['sort']): (x: ImageRecord, y: ImageRecord) => number {
  return (x, y) => {
    for (const { key, dir } of sort) {
      const c = cmp((x as any)[key], (y as any)[key]);
      if (c !== 0) return dir === 'asc' ? c : -c;
    }
    return 0;
  };
}

export function sortImages(imgs: ImageRecord[], sort: ListQuery['sort']): ImageRecord[] {
  return imgs.sort(compareImages(sort));
}
