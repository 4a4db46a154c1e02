import { badRequest, conflict, forbidden } from '../util/errors.js';

// JSON-patch documents in Glance's media type application/openstack-images-v2.1-json-patch.

export const PATCH_MEDIA_TYPE = 'application/openstack-images-v2.1-json-patch';

export interface PatchOp {
  op: 'add' | 'remove' | 'replace';
  path: string[]; // decoded JSON-pointer tokens
  value?: unknown;
}

function decodePointer(p: unknown): string[] {
  if (typeof p !== 'string') throw badRequest(`Pointer must be a string: ${JSON.stringify(p)}`);
  if (!p.startsWith('/')) throw badRequest(`Pointer \`${p}\` does not start with "/".`);
  if (/\/\s*?\//.test(p.slice(1))) throw badRequest(`Pointer \`${p}\` contains adjacent "/".`);
  if (p.length > 1 && p.endsWith('/')) throw badRequest(`Pointer \`${p}\` end with "/".`);
  if (p === '/') throw badRequest(`Pointer \`${p}\` does not contains valid token.`);
  if (/~[^01]/.test(p) || p.endsWith('~')) throw badRequest(`Pointer \`${p}\` contains "~" not part of a recognized escape sequence.`);
  return p.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~').trim());
}

export function parsePatch(body: unknown): PatchOp[] {
  if (!Array.isArray(body)) throw badRequest('Request body must be a JSON array of operation objects.');
  return body.map((raw) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw badRequest('Operations must be JSON objects.');
    }
    const r = raw as Record<string, unknown>;
    if (!('op' in r)) throw badRequest("Unable to find 'op' in JSON Schema change");
    if (r.op !== 'add' && r.op !== 'remove' && r.op !== 'replace') {
      throw badRequest(`Invalid operation: \`${String(r.op)}\`: only add, remove and replace are supported`);
    }
    if (!('path' in r)) throw badRequest("Unable to find 'path' in JSON Schema change");
    const path = decodePointer(r.path);
    const limit = path[0] === 'locations' ? 2 : 1;
    if (path.length > limit) throw badRequest(`Invalid JSON pointer for this resource: '/${path.join('/')}'`);
    if (r.op !== 'remove' && !('value' in r)) throw badRequest(`Operation "${r.op}" requires a member named "value".`);
    return { op: r.op, path, value: r.value };
  });
}

/** Applies add/remove/replace to a flat attribute map whose base attributes can't be removed (Glance's rules). */
export function applyOp(target: Record<string, unknown>, isBase: (k: string) => boolean, op: PatchOp): void {
  const key = op.path[0];
  switch (op.op) {
    case 'add':
      target[key] = op.value; // v2.1: add on an existing attribute replaces it
      return;
    case 'replace':
      if (!isBase(key) && !(key in target)) throw conflict(`Property ${key} does not exist.`);
      target[key] = op.value;
      return;
    case 'remove':
      if (isBase(key)) throw forbidden(`Property ${key} may not be removed.`);
      if (!(key in target)) throw conflict(`Property ${key} does not exist.`);
      delete target[key];
  }
}
