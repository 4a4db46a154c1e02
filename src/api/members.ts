import { Hono, type Context } from 'hono';
import type { MemberService } from '../images/members.js';
import { MEMBER_ID_MAX } from '../images/members.js';
import { memberView } from '../images/member.js';
import { HttpError, badRequest } from '../util/errors.js';
import { readJson } from './body.js';
import type { Env } from './env.js';

/** Image members: GET/POST /v2/images/{id}/members, GET/PUT/DELETE /v2/images/{id}/members/{member_id}. */
export function membersApi(svc: MemberService) {
  const app = new Hono<Env>();

  app.get('/:id/members', (c) => {
    notHead(c, LIST_ALLOW);
    rejectBody(c);
    const members = svc.list(c.get('ctx'), c.req.param('id')).map(memberView);
    return c.json({ members, schema: '/v2/schemas/members' });
  });
  app.post('/:id/members', async (c) => {
    const memberId = memberFromBody(await readJsonBody(c));
    // Glance answers 200 (not 201) with the new membership.
    return c.json(memberView(await svc.add(c.get('ctx'), c.req.param('id'), memberId)));
  });
  app.get('/:id/members/:member', (c) => {
    notHead(c, MEMBER_ALLOW);
    rejectBody(c);
    return c.json(memberView(svc.show(c.get('ctx'), c.req.param('id'), c.req.param('member'))));
  });
  app.put('/:id/members/:member', async (c) => {
    const status = statusFromBody(await readJsonBody(c));
    return c.json(memberView(await svc.update(c.get('ctx'), c.req.param('id'), c.req.param('member'), status)));
  });
  app.delete('/:id/members/:member', async (c) => {
    rejectBody(c);
    await svc.remove(c.get('ctx'), c.req.param('id'), c.req.param('member'));
    return c.body(null, 204);
  });
  // Other methods: 405 with Allow, as Glance's router answers.
  app.all('/:id/members', (c) => {
    throw methodNotAllowed(c.req.method, LIST_ALLOW);
  });
  app.all('/:id/members/:member', (c) => {
    throw methodNotAllowed(c.req.method, MEMBER_ALLOW);
  });
  return app;
}

const LIST_ALLOW = 'GET, POST';
const MEMBER_ALLOW = 'GET, PUT, DELETE';
const methodNotAllowed = (method: string, allow: string) =>
  new HttpError(405, `The method ${method} is not allowed for this resource.`, { Allow: allow });

/** Hono routes HEAD to GET handlers; Glance's router answers 405 for HEAD here. */
function notHead(c: Context<Env>, allow: string) {
  if (c.req.method === 'HEAD') throw methodNotAllowed('HEAD', allow);
}

/** Glance's body_reject routes: a GET or DELETE that carries a body is a 400. */
function rejectBody(c: Context<Env>) {
  const len = Number(c.req.header('content-length') ?? 0);
  if (len > 0 || (c.req.header('transfer-encoding') ?? '').toLowerCase() === 'chunked') {
    throw badRequest('A body is not expected with this request.');
  }
}

/** Glance's JSONRequestDeserializer: only an object or array is a body. */
async function readJsonBody(c: Context<Env>): Promise<unknown> {
  const body = await readJson(c);
  if (typeof body !== 'object' || body === null) throw badRequest('Unexpected body type. Expected list/dict.');
  return body;
}

function memberFromBody(body: unknown): string {
  if (Array.isArray(body)) throw badRequest('Expected a member in the form: {"member": "image_id"}');
  const b = body as Record<string, unknown>;
  if (!('member' in b)) throw badRequest('Member to be added not specified');
  const m = b.member;
  // Python truthiness: "", null, 0, false, [] and {} are all "empty" to Glance.
  if (m === '' || m === null || m === 0 || m === false || (typeof m === 'object' && Object.keys(m).length === 0)) {
    throw badRequest("Member can't be empty");
  }
  // Glance stores a number or a boolean as text and fails (500) on lists and objects: a member is a project id.
  if (typeof m !== 'string') throw badRequest('Expected a member in the form: {"member": "image_id"}');
  if (m.length > MEMBER_ID_MAX) throw badRequest(`Member ID is too long: at most ${MEMBER_ID_MAX} characters`);
  return m;
}

function statusFromBody(body: unknown): unknown {
  if (Array.isArray(body)) throw badRequest('Expected a status in the form: {"status": "status"}');
  const b = body as Record<string, unknown>;
  if (!('status' in b)) throw badRequest('Status not specified');
  return b.status;
}
