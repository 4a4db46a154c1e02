import type { Context } from 'hono';
import { badRequest } from '../util/errors.js';

const MAX_JSON = 1 << 20; // metadata documents are small; refuse anything bigger than 1 MiB

/** Reads and parses a JSON request body; malformed or oversized JSON is a 400, as in Glance. */
export async function readJson(c: Context): Promise<unknown> {
  const len = Number(c.req.header('content-length') ?? 0);
  if (len > MAX_JSON) throw badRequest(`Request body too large: at most ${MAX_JSON} bytes of JSON`);
  const text = await c.req.text();
  if (text.length > MAX_JSON) throw badRequest(`Request body too large: at most ${MAX_JSON} bytes of JSON`);
  if (text.trim() === '') throw badRequest('Body expected in request.');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`Malformed JSON in request body: ${(e as Error).message}`);
  }
}
