import { HttpError, badRequest } from './errors.js';

export interface ByteRange { start: number; end: number } // inclusive end, as in HTTP

/**
 * Parses a single-range `Range: bytes=...` (or Glance's legacy request `Content-Range: bytes a-b/*`).
 * Returns null when the header is absent. As Glance (common/wsgi.py get_range_from_request): multi-range → 400;
 * malformed or unsatisfiable → 416.
 */
export function parseRange(range: string | undefined, contentRange: string | undefined, size: number): ByteRange | null {
  if (range !== undefined) {
    const m = /^\s*bytes\s*=\s*(.*)$/i.exec(range);
    if (!m) throw unsatisfiable(size, `Invalid Range header: ${range}`);
    const spec = m[1].trim();
    if (spec.includes(',')) throw badRequest('Multiple ranges are not supported');
    const p = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
    if (!p || (p[1] === '' && p[2] === '')) throw unsatisfiable(size, `Invalid Range header: ${range}`);
    let start: number, end: number;
    if (p[1] === '') {
      const suffix = Number(p[2]);
      if (suffix === 0) throw unsatisfiable(size);
      start = Math.max(0, size - suffix);
      end = size - 1;
    } else {
      start = Number(p[1]);
      end = p[2] === '' ? size - 1 : Math.min(Number(p[2]), size - 1);
      if (p[2] !== '' && Number(p[2]) < start) throw unsatisfiable(size, `Invalid Range header: ${range}`);
    }
    if (start >= size || size === 0) throw unsatisfiable(size);
    return { start, end };
  }
  if (contentRange !== undefined) {
    const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(contentRange);
    if (!m) throw unsatisfiable(size, `Invalid Content-Range header: ${contentRange}`);
    const start = Number(m[1]);
    const end = Number(m[2]);
    if (end < start) throw unsatisfiable(size, `Invalid Content-Range header: ${contentRange}`);
    if (m[3] === '*' && end >= size) throw unsatisfiable(size, `Invalid stop position in Content-Range header: it must be in [0, ${size - 1}]`);
    if (start >= size) throw unsatisfiable(size);
    return { start, end: Math.min(end, size - 1) };
  }
  return null;
}

const unsatisfiable = (size: number, why = `Requested range not satisfiable for an image of ${size} bytes`) =>
  new HttpError(416, why, { 'Content-Range': `bytes */${size}` });
