import type { Context } from 'hono';
import { badRequest } from '../util/errors.js';

const MAX_JSON = 1 << 20; // metadata documents are small; refuse anything bigger than 1 MiB
// Image metadata is shallow (location metadata is the deepest: a few levels). Deeper documents are refused
// before anything recurses over them (validation messages, the catalog's encoder) and runs out of stack.
const MAX_DEPTH = 32;

/** Nesting depth of the JSON text (brackets outside strings), counted without parsing. */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) max = Math.max(max, ++depth);
    else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return max;
}

/** Reads and parses a JSON request body; malformed or oversized JSON is a 400, as in Glance. */
export async function readJson(c: Context): Promise<unknown> {
  const len = Number(c.req.header('content-length') ?? 0);
  if (len > MAX_JSON) throw badRequest(`Request body too large: at most ${MAX_JSON} bytes of JSON`);
  const text = await c.req.text();
  if (text.length > MAX_JSON) throw badRequest(`Request body too large: at most ${MAX_JSON} bytes of JSON`);
  if (text.trim() === '') throw badRequest('Body expected in request.');
  if (jsonDepth(text) > MAX_DEPTH) throw badRequest(`Malformed JSON in request body: nested deeper than ${MAX_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`Malformed JSON in request body: ${(e as Error).message}`);
  }
}
