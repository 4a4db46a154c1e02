import { randomUUID } from 'node:crypto';
import { request, type Reply } from '../helpers/http.js';

// One image-members scenario (owner A, member B, stranger C, admin) as a transcript of normalized answers, run
// against imaged (test/api/members.test.ts) and against Debian's glance-api 25 (test/glance/members-glance.test.ts).
// GLANCE_TRANSCRIPT is glance-api 25's transcript, recorded from a run against the real server.

const WHO = {
  A: { 'X-Project-Id': 'pA', 'X-Roles': 'member,reader' },
  B: { 'X-Project-Id': 'pB', 'X-Roles': 'member,reader' },
  C: { 'X-Project-Id': 'pC', 'X-Roles': 'member,reader' },
  ADMIN: { 'X-Project-Id': 'padmin', 'X-Roles': 'admin,member,reader' },
} as const;
type Who = keyof typeof WHO;

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

export async function memberScenario(base: string): Promise<string[]> {
  const out: string[] = [];
  const names = new Map<string, string>(); // image id -> name, so ids read the same on both servers
  const ids = new Map<string, string>(); // name -> id
  const tag = `members-${randomUUID()}`; // listings see only this run's images on a long-lived peer

  const norm = (v: unknown): unknown => {
    if (typeof v === 'string') return names.get(v) ?? (TIME.test(v) ? 'T' : v);
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
    return v;
  };
  // Errors: the message only (Glance's JSON error has webob's "<br /><br />" tail; codes are rendered differently).
  const body = (r: Reply): string => {
    if (r.status >= 400) {
      const m = r.json?.message ?? r.body.toString();
      return JSON.stringify(String(m).replace(/(<br \/>)+\s*$/, '').trim().replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, (id) => names.get(id) ?? id));
    }
    if (r.body.length === 0) return '';
    if (r.json?.images) return r.json.images.map((i: any) => i.name).sort().join(',') || '(none)';
    if (r.json?.id) return `image ${r.json.name} ${r.json.visibility} owner=${r.json.owner}`;
    if (r.json === undefined) return JSON.stringify(r.body.toString());
    return JSON.stringify(norm(r.json));
  };
  const call = async (who: Who, method: string, path: string, b?: string, extra: Record<string, string> = {}) => {
    const headers: Record<string, string> = { ...WHO[who], Accept: 'application/json', ...extra };
    if (b !== undefined) {
      headers['Content-Type'] ??= 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(b)); // node sends a GET or DELETE body unframed otherwise
    }
    const r = await request(`${base}${path}`, { method, headers, body: b });
    const shown = path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, (id) => names.get(id) ?? id);
    const allow = r.status === 405 ? ` Allow: ${r.headers.allow}` : '';
    out.push(`${who} ${method} ${shown}${b !== undefined ? ` ${b}` : ''} -> ${r.status}${allow} ${body(r)}`.trimEnd());
    return r;
  };
  const create = async (who: Who, name: string, visibility: string) => {
    const r = await call(who, 'POST', '/v2/images', JSON.stringify({ name, visibility, disk_format: 'raw', container_format: 'bare', tags: [tag] }));
    names.set(r.json.id, name);
    ids.set(name, r.json.id);
    return r.json.id as string;
  };
  const setVisibility = (id: string, visibility: string) =>
    call('A', 'PATCH', `/v2/images/${id}`, JSON.stringify([{ op: 'replace', path: '/visibility', value: visibility }]), {
      'Content-Type': 'application/openstack-images-v2.1-json-patch',
    });
  const m = (id: string, member = '') => `/v2/images/${id}/members${member ? `/${member}` : ''}`;

  // --- members of a shared image: who may do what ---
  const sh = await create('A', 'sh', 'shared');
  await call('A', 'GET', m(sh));
  await call('A', 'POST', m(sh), '{"member": "pB"}');
  await call('A', 'POST', m(sh), '{"member": "pB"}');
  await call('B', 'POST', m(sh), '{"member": "pD"}');
  await call('C', 'POST', m(sh), '{"member": "pD"}');
  await call('ADMIN', 'POST', m(sh), '{"member": "pE"}');
  for (const who of ['A', 'B', 'C', 'ADMIN'] as const) await call(who, 'GET', m(sh));
  await call('B', 'GET', `/v2/images/${sh}`);
  await call('C', 'GET', `/v2/images/${sh}`);
  await call('B', 'GET', m(sh, 'pB'));
  await call('B', 'GET', m(sh, 'pE'));
  await call('A', 'GET', m(sh, 'pE'));
  await call('A', 'GET', m(sh, 'pX'));
  await call('C', 'GET', m(sh, 'pB'));
  await call('A', 'PUT', m(sh, 'pB'), '{"status": "accepted"}');
  await call('B', 'PUT', m(sh, 'pB'), '{"status": "bogus"}');
  await call('B', 'PUT', m(sh, 'pB'), '{"status": "Accepted"}');
  await call('B', 'PUT', m(sh, 'pB'), '{"status": null}');
  await call('B', 'PUT', m(sh, 'pB'), '{"status": 1}');
  await call('B', 'PUT', m(sh, 'pB'), '{"status": "accepted"}');
  await call('B', 'PUT', m(sh, 'pE'), '{"status": "accepted"}');
  await call('C', 'PUT', m(sh, 'pB'), '{"status": "accepted"}');
  await call('ADMIN', 'PUT', m(sh, 'pE'), '{"status": "rejected"}');
  await call('A', 'PUT', m(sh, 'pX'), '{"status": "accepted"}');
  await call('B', 'DELETE', m(sh, 'pB'));
  await call('C', 'DELETE', m(sh, 'pB'));
  await call('A', 'DELETE', m(sh, 'pX'));
  await call('ADMIN', 'DELETE', m(sh, 'pE'));
  await call('A', 'DELETE', m(sh, 'pE'));
  await call('A', 'POST', m(sh), '{"member": "pE"}'); // a removed member can be added again, pending again
  await call('A', 'DELETE', m(sh, 'pE'));
  await call('A', 'GET', m(sh));

  // --- request bodies ---
  await call('A', 'POST', m(sh));
  for (const b of ['{}', '{"member": ""}', '{"member": null}', '[]', '"pB"', 'null', '{bad']) await call('A', 'POST', m(sh), b);
  await call('B', 'PUT', m(sh, 'pB'));
  for (const b of ['{}', '[]', '"accepted"']) await call('B', 'PUT', m(sh, 'pB'), b);
  await call('A', 'GET', m(sh), '{"a": 1}');
  await call('A', 'GET', m(sh, 'pB'), '{"a": 1}');
  await call('A', 'DELETE', m(sh, 'pB'), '{"a": 1}');
  await call('A', 'PATCH', m(sh));
  await call('A', 'HEAD', m(sh));
  await call('A', 'HEAD', m(sh, 'pB'));
  await call('A', 'POST', m(sh, 'pB'));
  await call('A', 'GET', m('not-a-uuid'));
  await call('A', 'POST', m('00000000-0000-4000-8000-000000000000'), '{"member": "pB"}');

  // --- visibility changes keep the members; only shared images have members ---
  await setVisibility(sh, 'private');
  await call('A', 'GET', m(sh));
  await call('ADMIN', 'GET', m(sh));
  await call('A', 'GET', m(sh, 'pB'));
  await call('B', 'GET', `/v2/images/${sh}`);
  await call('B', 'GET', m(sh));
  await call('A', 'POST', m(sh), '{"member": "pF"}');
  await call('ADMIN', 'POST', m(sh), '{"member": "pF"}');
  await call('A', 'PUT', m(sh, 'pB'), '{"status": "rejected"}');
  await call('ADMIN', 'PUT', m(sh, 'pB'), '{"status": "rejected"}');
  await call('A', 'DELETE', m(sh, 'pB'));
  await setVisibility(sh, 'shared');
  await call('A', 'GET', m(sh));
  await call('B', 'GET', `/v2/images/${sh}`);
  await setVisibility(sh, 'community');
  await call('A', 'GET', m(sh));
  await call('B', 'GET', m(sh, 'pB'));
  await setVisibility(sh, 'shared');
  const pub = await create('ADMIN', 'pub', 'public');
  await call('ADMIN', 'POST', m(pub), '{"member": "pB"}');
  await call('A', 'GET', m(pub));
  await call('ADMIN', 'GET', m(pub));

  // --- listing: member_status and visibility ---
  await call('A', 'DELETE', `/v2/images/${sh}`);
  const acc = await create('A', 's-acc', 'shared');
  const pend = await create('A', 's-pend', 'shared');
  const rej = await create('A', 's-rej', 'shared');
  await create('A', 's-nomem', 'shared');
  const priv = await create('A', 'priv', 'private');
  await create('A', 'comm', 'community');
  await create('B', 'b-shared', 'shared');
  for (const id of [acc, pend, rej]) await call('A', 'POST', m(id), '{"member": "pB"}');
  await call('A', 'POST', m(priv), '{"member": "pB"}');
  await call('B', 'PUT', m(acc, 'pB'), '{"status": "accepted"}');
  await call('B', 'PUT', m(rej, 'pB'), '{"status": "rejected"}');
  for (const who of ['A', 'B', 'C', 'ADMIN'] as const) {
    for (const ms of [null, 'pending', 'accepted', 'rejected', 'all']) {
      for (const vis of [null, 'shared', 'private', 'all']) {
        const q = new URLSearchParams({ tag });
        if (ms) q.set('member_status', ms);
        if (vis) q.set('visibility', vis);
        await call(who, 'GET', `/v2/images?${q}`);
      }
    }
  }
  await call('B', 'GET', `/v2/images?tag=${tag}&member_status=bogus`);

  // --- pending and rejected members may show and download; others may not change the image ---
  for (const id of [pend, rej]) {
    const r = await request(`${base}/v2/images/${id}/file`, { method: 'PUT', headers: { ...WHO.A, 'Content-Type': 'application/octet-stream' }, body: 'hello' });
    if (r.status !== 204) throw new Error(`upload failed: ${r.status} ${r.body}`);
  }
  await call('B', 'GET', `/v2/images/${pend}/file`);
  await call('B', 'GET', `/v2/images/${rej}/file`);
  await call('C', 'GET', `/v2/images/${pend}/file`);
  await call('B', 'GET', `/v2/images/${rej}`);
  const patch = await request(`${base}/v2/images/${pend}`, {
    method: 'PATCH',
    headers: { ...WHO.B, 'Content-Type': 'application/openstack-images-v2.1-json-patch' },
    body: JSON.stringify([{ op: 'replace', path: '/name', value: 'mine' }]),
  });
  out.push(`B PATCH /v2/images/s-pend name -> ${patch.status}`);
  const del = await request(`${base}/v2/images/${pend}`, { method: 'DELETE', headers: WHO.B });
  out.push(`B DELETE /v2/images/s-pend -> ${del.status}`);

  // --- deleting the image takes its members along ---
  await call('A', 'DELETE', `/v2/images/${acc}`);
  await call('A', 'GET', m(acc));
  await call('B', 'GET', `/v2/images?tag=${tag}&member_status=all`);
  return out.map((l) => l.replaceAll(tag, 'TAG')); // this run's tag reads the same every time
}

/** glance-api 25 (Debian 2:25.1.0, legacy policy defaults) answering memberScenario, recorded 2026-12-02. */
export const GLANCE_TRANSCRIPT = [
  'A POST /v2/images {"name":"sh","visibility":"shared","disk_format":"raw","container_format":"bare","tags":["TAG"]} -> 201 image sh shared owner=pA',
  'A GET /v2/images/sh/members -> 200 {"members":[],"schema":"/v2/schemas/members"}',
  'A POST /v2/images/sh/members {"member": "pB"} -> 200 {"member_id":"pB","image_id":"sh","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}',
  'A POST /v2/images/sh/members {"member": "pB"} -> 409 "Member pB is duplicated for image sh"',
  'B POST /v2/images/sh/members {"member": "pD"} -> 403 "Not allowed to create members for image sh."',
  'C POST /v2/images/sh/members {"member": "pD"} -> 404 "Image sh not found."',
  'ADMIN POST /v2/images/sh/members {"member": "pE"} -> 200 {"member_id":"pE","image_id":"sh","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}',
  'A GET /v2/images/sh/members -> 200 {"members":[{"member_id":"pB","image_id":"sh","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"},{"member_id":"pE","image_id":"sh","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}],"schema":"/v2/schemas/members"}',
  'B GET /v2/images/sh/members -> 200 {"members":[{"member_id":"pB","image_id":"sh","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}],"schema":"/v2/schemas/members"}',
  'C GET /v2/images/sh/members -> 404 "Image sh not found."',
  'ADMIN GET /v2/images/sh/members -> 200 {"members":[{"member_id":"pB","image_id":"sh","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"},{"member_id":"pE","image_id":"sh","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}],"schema":"/v2/schemas/members"}',
  'B GET /v2/images/sh -> 200 image sh shared owner=pA',
  'C GET /v2/images/sh -> 404 "No image found with ID sh"',
  'B GET /v2/images/sh/members/pB -> 200 {"member_id":"pB","image_id":"sh","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}',
  'B GET /v2/images/sh/members/pE -> 404 "pE not found in the member list of the image sh."',
  'A GET /v2/images/sh/members/pE -> 200 {"member_id":"pE","image_id":"sh","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}',
  'A GET /v2/images/sh/members/pX -> 404 "pX not found in the member list of the image sh."',
  'C GET /v2/images/sh/members/pB -> 404 "Image sh not found."',
  'A PUT /v2/images/sh/members/pB {"status": "accepted"} -> 403 "Not allowed to update members for image sh."',
  'B PUT /v2/images/sh/members/pB {"status": "bogus"} -> 400 "Incorrect request: Status must be \\"pending\\", \\"accepted\\" or \\"rejected\\"."',
  'B PUT /v2/images/sh/members/pB {"status": "Accepted"} -> 400 "Incorrect request: Status must be \\"pending\\", \\"accepted\\" or \\"rejected\\"."',
  'B PUT /v2/images/sh/members/pB {"status": null} -> 400 "Incorrect request: Status must be \\"pending\\", \\"accepted\\" or \\"rejected\\"."',
  'B PUT /v2/images/sh/members/pB {"status": 1} -> 400 "Incorrect request: Status must be \\"pending\\", \\"accepted\\" or \\"rejected\\"."',
  'B PUT /v2/images/sh/members/pB {"status": "accepted"} -> 200 {"member_id":"pB","image_id":"sh","status":"accepted","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}',
  'B PUT /v2/images/sh/members/pE {"status": "accepted"} -> 404 "pE not found in the member list of the image sh."',
  'C PUT /v2/images/sh/members/pB {"status": "accepted"} -> 404 "Image sh not found."',
  'ADMIN PUT /v2/images/sh/members/pE {"status": "rejected"} -> 200 {"member_id":"pE","image_id":"sh","status":"rejected","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}',
  'A PUT /v2/images/sh/members/pX {"status": "accepted"} -> 403 "Not allowed to update members for image sh."',
  'B DELETE /v2/images/sh/members/pB -> 403 "Not allowed to delete members for image sh."',
  'C DELETE /v2/images/sh/members/pB -> 404 "Image sh not found."',
  'A DELETE /v2/images/sh/members/pX -> 404 "pX not found in the member list of the image sh."',
  'ADMIN DELETE /v2/images/sh/members/pE -> 204',
  'A DELETE /v2/images/sh/members/pE -> 404 "pE not found in the member list of the image sh."',
  'A POST /v2/images/sh/members {"member": "pE"} -> 200 {"member_id":"pE","image_id":"sh","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}',
  'A DELETE /v2/images/sh/members/pE -> 204',
  'A GET /v2/images/sh/members -> 200 {"members":[{"member_id":"pB","image_id":"sh","status":"accepted","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}],"schema":"/v2/schemas/members"}',
  'A POST /v2/images/sh/members -> 400 "Body expected in request."',
  'A POST /v2/images/sh/members {} -> 400 "Member to be added not specified"',
  'A POST /v2/images/sh/members {"member": ""} -> 400 "Member can\'t be empty"',
  'A POST /v2/images/sh/members {"member": null} -> 400 "Member can\'t be empty"',
  'A POST /v2/images/sh/members [] -> 400 "Expected a member in the form: {\\"member\\": \\"image_id\\"}"',
  'A POST /v2/images/sh/members "pB" -> 400 "Unexpected body type. Expected list/dict."',
  'A POST /v2/images/sh/members null -> 400 "Unexpected body type. Expected list/dict."',
  'A POST /v2/images/sh/members {bad -> 400 "Malformed JSON in request body."',
  'B PUT /v2/images/sh/members/pB -> 400 "Body expected in request."',
  'B PUT /v2/images/sh/members/pB {} -> 400 "Status not specified"',
  'B PUT /v2/images/sh/members/pB [] -> 400 "Expected a status in the form: {\\"status\\": \\"status\\"}"',
  'B PUT /v2/images/sh/members/pB "accepted" -> 400 "Unexpected body type. Expected list/dict."',
  'A GET /v2/images/sh/members {"a": 1} -> 400 "A body is not expected with this request."',
  'A GET /v2/images/sh/members/pB {"a": 1} -> 400 "A body is not expected with this request."',
  'A DELETE /v2/images/sh/members/pB {"a": 1} -> 400 "A body is not expected with this request."',
  'A PATCH /v2/images/sh/members -> 405 Allow: GET, POST "The method PATCH is not allowed for this resource."',
  'A HEAD /v2/images/sh/members -> 405 Allow: GET, POST ""',
  'A HEAD /v2/images/sh/members/pB -> 405 Allow: GET, PUT, DELETE ""',
  'A POST /v2/images/sh/members/pB -> 405 Allow: GET, PUT, DELETE "The method POST is not allowed for this resource."',
  'A GET /v2/images/not-a-uuid/members -> 404 "Image not-a-uuid not found."',
  'A POST /v2/images/00000000-0000-4000-8000-000000000000/members {"member": "pB"} -> 404 "Image 00000000-0000-4000-8000-000000000000 not found."',
  'A PATCH /v2/images/sh [{"op":"replace","path":"/visibility","value":"private"}] -> 200 image sh private owner=pA',
  'A GET /v2/images/sh/members -> 403 "Not allowed to list members for image sh: Only shared images have members."',
  'ADMIN GET /v2/images/sh/members -> 403 "Not allowed to list members for image sh: Only shared images have members."',
  'A GET /v2/images/sh/members/pB -> 404 "Only shared images have members."',
  'B GET /v2/images/sh -> 404 "No image found with ID sh"',
  'B GET /v2/images/sh/members -> 404 "Image sh not found."',
  'A POST /v2/images/sh/members {"member": "pF"} -> 403 "Not allowed to create members for image sh."',
  'ADMIN POST /v2/images/sh/members {"member": "pF"} -> 403 "Not allowed to create members for image sh."',
  'A PUT /v2/images/sh/members/pB {"status": "rejected"} -> 403 "Not allowed to update members for image sh."',
  'ADMIN PUT /v2/images/sh/members/pB {"status": "rejected"} -> 403 "Not allowed to update members for image sh."',
  'A DELETE /v2/images/sh/members/pB -> 403 "Not allowed to delete members for image sh."',
  'A PATCH /v2/images/sh [{"op":"replace","path":"/visibility","value":"shared"}] -> 200 image sh shared owner=pA',
  'A GET /v2/images/sh/members -> 200 {"members":[{"member_id":"pB","image_id":"sh","status":"accepted","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}],"schema":"/v2/schemas/members"}',
  'B GET /v2/images/sh -> 200 image sh shared owner=pA',
  'A PATCH /v2/images/sh [{"op":"replace","path":"/visibility","value":"community"}] -> 200 image sh community owner=pA',
  'A GET /v2/images/sh/members -> 403 "Not allowed to list members for image sh: Only shared images have members."',
  'B GET /v2/images/sh/members/pB -> 404 "Only shared images have members."',
  'A PATCH /v2/images/sh [{"op":"replace","path":"/visibility","value":"shared"}] -> 200 image sh shared owner=pA',
  'ADMIN POST /v2/images {"name":"pub","visibility":"public","disk_format":"raw","container_format":"bare","tags":["TAG"]} -> 201 image pub public owner=padmin',
  'ADMIN POST /v2/images/pub/members {"member": "pB"} -> 403 "Not allowed to create members for image pub."',
  'A GET /v2/images/pub/members -> 403 "Not allowed to list members for image pub: Only shared images have members."',
  'ADMIN GET /v2/images/pub/members -> 403 "Not allowed to list members for image pub: Only shared images have members."',
  'A DELETE /v2/images/sh -> 204',
  'A POST /v2/images {"name":"s-acc","visibility":"shared","disk_format":"raw","container_format":"bare","tags":["TAG"]} -> 201 image s-acc shared owner=pA',
  'A POST /v2/images {"name":"s-pend","visibility":"shared","disk_format":"raw","container_format":"bare","tags":["TAG"]} -> 201 image s-pend shared owner=pA',
  'A POST /v2/images {"name":"s-rej","visibility":"shared","disk_format":"raw","container_format":"bare","tags":["TAG"]} -> 201 image s-rej shared owner=pA',
  'A POST /v2/images {"name":"s-nomem","visibility":"shared","disk_format":"raw","container_format":"bare","tags":["TAG"]} -> 201 image s-nomem shared owner=pA',
  'A POST /v2/images {"name":"priv","visibility":"private","disk_format":"raw","container_format":"bare","tags":["TAG"]} -> 201 image priv private owner=pA',
  'A POST /v2/images {"name":"comm","visibility":"community","disk_format":"raw","container_format":"bare","tags":["TAG"]} -> 201 image comm community owner=pA',
  'B POST /v2/images {"name":"b-shared","visibility":"shared","disk_format":"raw","container_format":"bare","tags":["TAG"]} -> 201 image b-shared shared owner=pB',
  'A POST /v2/images/s-acc/members {"member": "pB"} -> 200 {"member_id":"pB","image_id":"s-acc","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}',
  'A POST /v2/images/s-pend/members {"member": "pB"} -> 200 {"member_id":"pB","image_id":"s-pend","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}',
  'A POST /v2/images/s-rej/members {"member": "pB"} -> 200 {"member_id":"pB","image_id":"s-rej","status":"pending","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}',
  'A POST /v2/images/priv/members {"member": "pB"} -> 403 "Not allowed to create members for image priv."',
  'B PUT /v2/images/s-acc/members/pB {"status": "accepted"} -> 200 {"member_id":"pB","image_id":"s-acc","status":"accepted","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}',
  'B PUT /v2/images/s-rej/members/pB {"status": "rejected"} -> 200 {"member_id":"pB","image_id":"s-rej","status":"rejected","created_at":"T","updated_at":"T","schema":"/v2/schemas/member"}',
  'A GET /v2/images?tag=TAG -> 200 comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&visibility=shared -> 200 s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&visibility=private -> 200 priv',
  'A GET /v2/images?tag=TAG&visibility=all -> 200 comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&member_status=pending -> 200 comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&member_status=pending&visibility=shared -> 200 s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&member_status=pending&visibility=private -> 200 priv',
  'A GET /v2/images?tag=TAG&member_status=pending&visibility=all -> 200 comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&member_status=accepted -> 200 comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&member_status=accepted&visibility=shared -> 200 s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&member_status=accepted&visibility=private -> 200 priv',
  'A GET /v2/images?tag=TAG&member_status=accepted&visibility=all -> 200 comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&member_status=rejected -> 200 comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&member_status=rejected&visibility=shared -> 200 s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&member_status=rejected&visibility=private -> 200 priv',
  'A GET /v2/images?tag=TAG&member_status=rejected&visibility=all -> 200 comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&member_status=all -> 200 comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&member_status=all&visibility=shared -> 200 s-acc,s-nomem,s-pend,s-rej',
  'A GET /v2/images?tag=TAG&member_status=all&visibility=private -> 200 priv',
  'A GET /v2/images?tag=TAG&member_status=all&visibility=all -> 200 comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'B GET /v2/images?tag=TAG -> 200 b-shared,pub,s-acc',
  'B GET /v2/images?tag=TAG&visibility=shared -> 200 b-shared,s-acc',
  'B GET /v2/images?tag=TAG&visibility=private -> 200 (none)',
  'B GET /v2/images?tag=TAG&visibility=all -> 200 b-shared,comm,pub,s-acc',
  'B GET /v2/images?tag=TAG&member_status=pending -> 200 b-shared,pub,s-pend',
  'B GET /v2/images?tag=TAG&member_status=pending&visibility=shared -> 200 b-shared,s-pend',
  'B GET /v2/images?tag=TAG&member_status=pending&visibility=private -> 200 (none)',
  'B GET /v2/images?tag=TAG&member_status=pending&visibility=all -> 200 b-shared,comm,pub,s-pend',
  'B GET /v2/images?tag=TAG&member_status=accepted -> 200 b-shared,pub,s-acc',
  'B GET /v2/images?tag=TAG&member_status=accepted&visibility=shared -> 200 b-shared,s-acc',
  'B GET /v2/images?tag=TAG&member_status=accepted&visibility=private -> 200 (none)',
  'B GET /v2/images?tag=TAG&member_status=accepted&visibility=all -> 200 b-shared,comm,pub,s-acc',
  'B GET /v2/images?tag=TAG&member_status=rejected -> 200 b-shared,pub,s-rej',
  'B GET /v2/images?tag=TAG&member_status=rejected&visibility=shared -> 200 b-shared,s-rej',
  'B GET /v2/images?tag=TAG&member_status=rejected&visibility=private -> 200 (none)',
  'B GET /v2/images?tag=TAG&member_status=rejected&visibility=all -> 200 b-shared,comm,pub,s-rej',
  'B GET /v2/images?tag=TAG&member_status=all -> 200 b-shared,pub,s-acc,s-pend,s-rej',
  'B GET /v2/images?tag=TAG&member_status=all&visibility=shared -> 200 b-shared,s-acc,s-pend,s-rej',
  'B GET /v2/images?tag=TAG&member_status=all&visibility=private -> 200 (none)',
  'B GET /v2/images?tag=TAG&member_status=all&visibility=all -> 200 b-shared,comm,pub,s-acc,s-pend,s-rej',
  'C GET /v2/images?tag=TAG -> 200 pub',
  'C GET /v2/images?tag=TAG&visibility=shared -> 200 (none)',
  'C GET /v2/images?tag=TAG&visibility=private -> 200 (none)',
  'C GET /v2/images?tag=TAG&visibility=all -> 200 comm,pub',
  'C GET /v2/images?tag=TAG&member_status=pending -> 200 pub',
  'C GET /v2/images?tag=TAG&member_status=pending&visibility=shared -> 200 (none)',
  'C GET /v2/images?tag=TAG&member_status=pending&visibility=private -> 200 (none)',
  'C GET /v2/images?tag=TAG&member_status=pending&visibility=all -> 200 comm,pub',
  'C GET /v2/images?tag=TAG&member_status=accepted -> 200 pub',
  'C GET /v2/images?tag=TAG&member_status=accepted&visibility=shared -> 200 (none)',
  'C GET /v2/images?tag=TAG&member_status=accepted&visibility=private -> 200 (none)',
  'C GET /v2/images?tag=TAG&member_status=accepted&visibility=all -> 200 comm,pub',
  'C GET /v2/images?tag=TAG&member_status=rejected -> 200 pub',
  'C GET /v2/images?tag=TAG&member_status=rejected&visibility=shared -> 200 (none)',
  'C GET /v2/images?tag=TAG&member_status=rejected&visibility=private -> 200 (none)',
  'C GET /v2/images?tag=TAG&member_status=rejected&visibility=all -> 200 comm,pub',
  'C GET /v2/images?tag=TAG&member_status=all -> 200 pub',
  'C GET /v2/images?tag=TAG&member_status=all&visibility=shared -> 200 (none)',
  'C GET /v2/images?tag=TAG&member_status=all&visibility=private -> 200 (none)',
  'C GET /v2/images?tag=TAG&member_status=all&visibility=all -> 200 comm,pub',
  'ADMIN GET /v2/images?tag=TAG -> 200 b-shared,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&visibility=shared -> 200 b-shared,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&visibility=private -> 200 priv',
  'ADMIN GET /v2/images?tag=TAG&visibility=all -> 200 b-shared,comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&member_status=pending -> 200 b-shared,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&member_status=pending&visibility=shared -> 200 b-shared,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&member_status=pending&visibility=private -> 200 priv',
  'ADMIN GET /v2/images?tag=TAG&member_status=pending&visibility=all -> 200 b-shared,comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&member_status=accepted -> 200 b-shared,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&member_status=accepted&visibility=shared -> 200 b-shared,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&member_status=accepted&visibility=private -> 200 priv',
  'ADMIN GET /v2/images?tag=TAG&member_status=accepted&visibility=all -> 200 b-shared,comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&member_status=rejected -> 200 b-shared,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&member_status=rejected&visibility=shared -> 200 b-shared,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&member_status=rejected&visibility=private -> 200 priv',
  'ADMIN GET /v2/images?tag=TAG&member_status=rejected&visibility=all -> 200 b-shared,comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&member_status=all -> 200 b-shared,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&member_status=all&visibility=shared -> 200 b-shared,s-acc,s-nomem,s-pend,s-rej',
  'ADMIN GET /v2/images?tag=TAG&member_status=all&visibility=private -> 200 priv',
  'ADMIN GET /v2/images?tag=TAG&member_status=all&visibility=all -> 200 b-shared,comm,priv,pub,s-acc,s-nomem,s-pend,s-rej',
  'B GET /v2/images?tag=TAG&member_status=bogus -> 400 "Invalid status: bogus"',
  'B GET /v2/images/s-pend/file -> 200 "hello"',
  'B GET /v2/images/s-rej/file -> 200 "hello"',
  'C GET /v2/images/s-pend/file -> 404 "No image found with ID s-pend"',
  'B GET /v2/images/s-rej -> 200 image s-rej shared owner=pA',
  'B PATCH /v2/images/s-pend name -> 403',
  'B DELETE /v2/images/s-pend -> 403',
  'A DELETE /v2/images/s-acc -> 204',
  'A GET /v2/images/s-acc/members -> 404 "Image s-acc not found."',
  'B GET /v2/images?tag=TAG&member_status=all -> 200 b-shared,pub,s-pend,s-rej',
];

/**
 * Where imaged answers differently on purpose: the line of GLANCE_TRANSCRIPT (by its request part) and imaged's answer.
 */
export const IMAGED_DIFFERENCES: Record<string, string> = {
  // imaged says what is wrong with the JSON (readJson, as for every other body); Glance only that it is malformed.
  'A POST /v2/images/sh/members {bad': '400 "Malformed JSON in request body: Expected property name or \'}\' in JSON at position 1"',
};

/** GLANCE_TRANSCRIPT with imaged's kept differences in place. */
export function expectedImagedTranscript(): string[] {
  return GLANCE_TRANSCRIPT.map((line) => {
    const [request] = line.split(' -> ');
    return request in IMAGED_DIFFERENCES ? `${request} -> ${IMAGED_DIFFERENCES[request]}` : line;
  });
}
