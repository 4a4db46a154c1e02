import type { HttpBindings } from '@hono/node-server';
import type { RequestContext } from '../auth/context.js';

/** Hono environment shared by the API modules. */
export type Env = { Bindings: HttpBindings; Variables: { ctx: RequestContext } };
