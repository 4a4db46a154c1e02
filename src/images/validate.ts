import { imageProperties } from './schema.js';
import { badRequest, forbidden } from '../util/errors.js';

// The subset of JSON Schema that Glance's image schema uses: type, enum, maxLength, pattern, items, required.

type Schema = Record<string, any>;

function typeOk(t: string, v: unknown): boolean {
  switch (t) {
    case 'null': return v === null;
    case 'string': return typeof v === 'string';
    case 'boolean': return typeof v === 'boolean';
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'array': return Array.isArray(v);
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    default: return false;
  }
}

/** A value for an error message: at most 200 characters of its JSON. */
const show = (v: unknown) => {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined;
  }
  if (s === undefined) return String(typeof v);
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
};

/** Returns a message describing why `v` does not match `s`, or null. */
export function checkSchema(s: Schema, v: unknown, where: string): string | null {
  if (s.type !== undefined) {
    const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => typeOk(t, v))) return `${show(v)} is not of type ${types.map(show).join(', ')} (${where})`;
  }
  if (s.enum !== undefined && !s.enum.some((e: unknown) => e === v)) {
    return `${show(v)} is not one of ${show(s.enum)} (${where})`;
  }
  if (typeof v === 'string') {
    if (s.maxLength !== undefined && v.length > s.maxLength) return `${show(v)} is too long: at most ${s.maxLength} characters (${where})`;
    if (s.pattern !== undefined && !new RegExp(s.pattern).test(v)) return `${show(v)} does not match ${show(s.pattern)} (${where})`;
  }
  if (Array.isArray(v) && s.items) {
    for (let i = 0; i < v.length; i++) {
      const m = checkSchema(s.items, v[i], `${where}[${i}]`);
      if (m) return m;
    }
  }
  if (typeOk('object', v) && s.required) {
    for (const k of s.required) if (!(k in (v as object))) return `${show(k)} is a required property (${where})`;
  }
  return null;
}

const INT_MAX = 2 ** 31 - 1;

/** Validates one image attribute (base or extra) the way Glance's schema + domain do; throws 400. */
export function validateAttribute(name: string, value: unknown): void {
  const s = imageProperties[name] ?? { type: 'string' };
  const m = checkSchema(s, value, name);
  if (m) throw badRequest(`Provided object does not match schema 'image': ${m}`);
  if ((name === 'min_ram' || name === 'min_disk') && ((value as number) < 0 || (value as number) > INT_MAX)) {
    throw badRequest(`Provided object does not match schema 'image': ${name} must be between 0 and ${INT_MAX}`);
  }
  if (name.length > 255) throw badRequest(`Property name is too long: ${name.slice(0, 40)}…`);
}

export const READ_ONLY = new Set([
  'created_at', 'updated_at', 'status', 'checksum', 'os_hash_algo', 'os_hash_value', 'size', 'virtual_size',
  'direct_url', 'self', 'file', 'schema', 'stores', 'id',
]);
export const RESERVED = new Set(['location', 'deleted', 'deleted_at']);

/** 403 for attributes callers may never set: read-only, reserved, and the os_glance_ namespace. */
export function checkSettable(name: string, opts: { creating: boolean }): void {
  if (opts.creating && name === 'id') return;
  if (READ_ONLY.has(name)) throw forbidden(`Attribute '${name}' is read-only.`);
  if (RESERVED.has(name)) throw forbidden(`Attribute '${name}' is reserved.`);
  if (name.startsWith('os_glance')) throw forbidden(`Attribute '${name}' is reserved.`);
}

export const TAG_MAX = 255;
