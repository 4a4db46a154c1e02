import { randomUUID } from 'node:crypto';
import { request, jsonHeaders, PATCH_TYPE } from '../helpers/http.js';

// One scenario of callers × images × actions, run as-is against a real glance-api 25 and against imaged; the two
// outcome tables must agree. Callers are projects with roles sent as X-Project-Id / X-Roles (imaged's trusted
// noauth headers; the glance peer's owner-context filter). Image ids differ between servers, so images are
// named by their fixture and outcomes say which fixtures a listing returned. The same scenario runs with Keystone
// tokens (test/keystone/policy-cast.ts): a Cast says how each caller authenticates and what its projects' ids are.

export interface Caller { name: string; project: string; roles: string }

// 'nobody' is a role no rule names: Glance's test filter gives admin to a request without X-Roles.
export const CALLERS: Caller[] = [
  { name: 'admin', project: 'proj-x', roles: 'admin,member,reader' },
  { name: 'A-member', project: 'proj-a', roles: 'member,reader' },
  { name: 'A-reader', project: 'proj-a', roles: 'reader' },
  { name: 'A-none', project: 'proj-a', roles: 'nobody' },
  { name: 'B-member', project: 'proj-b', roles: 'member,reader' },
  { name: 'B-reader', project: 'proj-b', roles: 'reader' },
  { name: 'C-member', project: 'proj-c', roles: 'member,reader' },
  { name: 'C-none', project: 'proj-c', roles: 'nobody' },
];
/** Who makes the fixtures: an admin of proj-a (so every visibility is allowed), and proj-b's member (accepts). */
export const ADMIN_A: Caller = { name: 'admin-of-a', project: 'proj-a', roles: 'admin,member,reader' };
export const MEMBER_B: Caller = { name: 'B-member', project: 'proj-b', roles: 'member,reader' };

/** How the scenario's callers and projects appear on the server under test. */
export interface Cast {
  /** the request headers that make `caller` (credentials) */
  headers(caller: Caller): Record<string, string>;
  /** the id of a scenario project (proj-a, proj-b, proj-c, proj-x) on the server */
  project(name: string): string;
}

/** Trusted X-Project-Id / X-Roles headers: imaged's noauth_trust_headers, the glance peer's owner-context filter. */
export const HEADER_CAST: Cast = {
  headers: (c) => ({ 'X-Project-Id': c.project, 'X-Roles': c.roles }),
  project: (name) => name,
};

export type Visibility = 'private' | 'shared' | 'community' | 'public';
export interface Fixture {
  visibility: Visibility;
  status: 'queued' | 'active' | 'deactivated';
  /** proj-b's membership of a shared image. */
  member?: 'pending' | 'accepted' | 'rejected';
}

const DATA = Buffer.from('policy scenario image bytes\n');

/** Creates an image owned by proj-a (made by an admin of proj-a, so every visibility is allowed). */
async function makeFixture(base: string, cast: Cast, f: Fixture, tag: string, name: string): Promise<string> {
  const admin = cast.headers(ADMIN_A);
  const r = await request(`${base}/v2/images`, {
    method: 'POST', headers: jsonHeaders(admin),
    body: JSON.stringify({ name, disk_format: 'raw', container_format: 'bare', visibility: f.visibility, tags: [tag] }),
  });
  if (r.status !== 201) throw new Error(`fixture ${name}: create ${r.status} ${r.body}`);
  const id = r.json.id as string;
  if (f.status !== 'queued') {
    const u = await request(`${base}/v2/images/${id}/file`, {
      method: 'PUT', headers: { ...admin, 'Content-Type': 'application/octet-stream', 'Content-Length': DATA.length }, body: DATA,
    });
    if (u.status !== 204) throw new Error(`fixture ${name}: upload ${u.status} ${u.body}`);
  }
  if (f.status === 'deactivated') {
    const d = await request(`${base}/v2/images/${id}/actions/deactivate`, { method: 'POST', headers: admin });
    if (d.status !== 204) throw new Error(`fixture ${name}: deactivate ${d.status} ${d.body}`);
  }
  if (f.member) {
    const m = await request(`${base}/v2/images/${id}/members`, {
      method: 'POST', headers: jsonHeaders(admin), body: JSON.stringify({ member: cast.project('proj-b') }),
    });
    if (m.status !== 200) throw new Error(`fixture ${name}: add member ${m.status} ${m.body}`);
    if (f.member !== 'pending') {
      const s = await request(`${base}/v2/images/${id}/members/${cast.project('proj-b')}`, {
        method: 'PUT', headers: jsonHeaders(cast.headers(MEMBER_B)), body: JSON.stringify({ status: f.member }),
      });
      if (s.status !== 200) throw new Error(`fixture ${name}: member status ${s.status} ${s.body}`);
    }
  }
  return id;
}

interface Req { method: string; path: string; body?: unknown; headers?: Record<string, string> }
export interface Action {
  name: string;
  /** Changes the image: each case gets a fixture of its own. */
  mutates: boolean;
  /** `p` gives a scenario project's id on the server. */
  req: (id: string, p: (name: string) => string) => Req;
  /** Which fixtures the action is tried on (default: all). */
  on?: (f: Fixture) => boolean;
}

const patch = (path: string, value?: unknown, op = 'replace') => (id: string): Req => ({
  method: 'PATCH', path: `/v2/images/${id}`, headers: { 'Content-Type': PATCH_TYPE },
  body: [value === undefined ? { op, path } : { op, path, value }],
});

export const ACTIONS: Action[] = [
  { name: 'show', mutates: false, req: (id) => ({ method: 'GET', path: `/v2/images/${id}` }) },
  { name: 'download', mutates: false, req: (id) => ({ method: 'GET', path: `/v2/images/${id}/file` }), on: (f) => f.status !== 'queued' },
  { name: 'rename', mutates: false, req: patch('/name', 'renamed') },
  { name: 'add-property', mutates: true, req: patch('/os_distro', 'cirros', 'add') },
  { name: 'add-tag', mutates: false, req: (id) => ({ method: 'PUT', path: `/v2/images/${id}/tags/extra` }) },
  { name: 'delete-tag', mutates: true, req: (id) => ({ method: 'DELETE', path: `/v2/images/${id}/tags/extra` }) },
  { name: 'to-public', mutates: true, req: patch('/visibility', 'public'), on: (f) => f.visibility !== 'public' },
  { name: 'to-community', mutates: true, req: patch('/visibility', 'community'), on: (f) => f.visibility !== 'community' },
  { name: 'to-private', mutates: true, req: patch('/visibility', 'private'), on: (f) => f.visibility !== 'private' },
  { name: 'to-shared', mutates: true, req: patch('/visibility', 'shared'), on: (f) => f.visibility !== 'shared' },
  { name: 'change-owner', mutates: true, req: (id, p) => patch('/owner', p('proj-c'))(id) },
  { name: 'protect', mutates: true, req: patch('/protected', true) },
  { name: 'deactivate', mutates: true, req: (id) => ({ method: 'POST', path: `/v2/images/${id}/actions/deactivate` }), on: (f) => f.status === 'active' },
  { name: 'reactivate', mutates: true, req: (id) => ({ method: 'POST', path: `/v2/images/${id}/actions/reactivate` }), on: (f) => f.status === 'deactivated' },
  { name: 'upload', mutates: true, req: (id) => ({ method: 'PUT', path: `/v2/images/${id}/file`, headers: { 'Content-Type': 'application/octet-stream' }, body: DATA }), on: (f) => f.status === 'queued' },
  { name: 'delete', mutates: true, req: (id) => ({ method: 'DELETE', path: `/v2/images/${id}` }) },
  { name: 'list-members', mutates: false, req: (id) => ({ method: 'GET', path: `/v2/images/${id}/members` }) },
  { name: 'show-member-b', mutates: false, req: (id, p) => ({ method: 'GET', path: `/v2/images/${id}/members/${p('proj-b')}` }) },
  { name: 'add-member-c', mutates: true, req: (id, p) => ({ method: 'POST', path: `/v2/images/${id}/members`, headers: { 'Content-Type': 'application/json' }, body: { member: p('proj-c') } }) },
  { name: 'accept-b', mutates: true, req: (id, p) => ({ method: 'PUT', path: `/v2/images/${id}/members/${p('proj-b')}`, headers: { 'Content-Type': 'application/json' }, body: { status: 'accepted' } }), on: (f) => f.member !== undefined },
  { name: 'remove-member-b', mutates: true, req: (id, p) => ({ method: 'DELETE', path: `/v2/images/${id}/members/${p('proj-b')}` }), on: (f) => f.member !== undefined },
];

export const FIXTURES: Record<string, Fixture> = {
  'private-active': { visibility: 'private', status: 'active' },
  'private-queued': { visibility: 'private', status: 'queued' },
  'shared-active': { visibility: 'shared', status: 'active' },
  'shared-pending-b': { visibility: 'shared', status: 'active', member: 'pending' },
  'shared-accepted-b': { visibility: 'shared', status: 'active', member: 'accepted' },
  'shared-rejected-b': { visibility: 'shared', status: 'active', member: 'rejected' },
  'shared-queued-accepted-b': { visibility: 'shared', status: 'queued', member: 'accepted' },
  'community-active': { visibility: 'community', status: 'active' },
  'public-active': { visibility: 'public', status: 'active' },
  'public-deactivated': { visibility: 'public', status: 'deactivated' },
  'shared-deactivated-accepted-b': { visibility: 'shared', status: 'deactivated', member: 'accepted' },
};

/** proj-a in `owner=` is replaced by its id on the server. */
export const LIST_QUERIES = [
  '', 'visibility=private', 'visibility=shared', 'visibility=community', 'visibility=public', 'visibility=all',
  'member_status=pending', 'member_status=all', 'visibility=shared&member_status=rejected', 'owner=proj-a',
];

/** The outcome of one request: the status, and for listings which fixtures came back. */
async function outcome(base: string, cast: Cast, caller: Caller, r: Req, names?: Map<string, string>): Promise<string> {
  const res = await request(`${base}${r.path}`, {
    method: r.method,
    headers: { ...cast.headers(caller), ...(r.headers ?? {}), ...(r.body instanceof Buffer ? { 'Content-Length': r.body.length } : {}) },
    body: r.body === undefined ? undefined : r.body instanceof Buffer ? r.body : JSON.stringify(r.body),
  });
  if (!names || res.status !== 200) return String(res.status);
  const got = (res.json.images as Array<{ id: string }>).map((i) => names.get(i.id)).filter((n): n is string => !!n).sort();
  return `200 [${got.join(' ')}]`;
}

export interface Subset { callers?: string[]; fixtures?: string[]; actions?: string[]; lists?: boolean }

/** Runs every case (or a subset) against one server; returns case → outcome. `parallel` requests at a time. */
export async function runScenario(base: string, o: Subset & { parallel?: number; cast?: Cast } = {}): Promise<Map<string, string>> {
  const cast = o.cast ?? HEADER_CAST;
  const pick = <T extends { name: string }>(all: T[], names?: string[]) => (names ? all.filter((x) => names.includes(x.name)) : all);
  const callers = pick(CALLERS, o.callers);
  const actions = pick(ACTIONS, o.actions);
  const fixtures = Object.entries(FIXTURES).filter(([n]) => !o.fixtures || o.fixtures.includes(n));
  const tag = `policy-${randomUUID().slice(0, 8)}`;
  const out = new Map<string, string>();
  const jobs: Array<() => Promise<void>> = [];
  // Read-only and idempotent actions share one set of fixtures, made first.
  const shared = new Map<string, string>(); // fixture name -> id
  for (const [fname, f] of fixtures) shared.set(fname, await makeFixture(base, cast, f, tag, fname));
  const names = new Map([...shared].map(([n, id]) => [id, n]));
  for (const caller of callers) {
    for (const q of o.lists === false ? [] : LIST_QUERIES) {
      const path = `/v2/images?limit=1000&tag=${tag}${q ? `&${q.replace('owner=proj-a', `owner=${cast.project('proj-a')}`)}` : ''}`;
      jobs.push(async () => {
        out.set(`${caller.name} list ?${q}`, await outcome(base, cast, caller, { method: 'GET', path }, names));
      });
    }
    for (const [fname, f] of fixtures) {
      for (const a of actions) {
        if (a.on && !a.on(f)) continue;
        const key = `${caller.name} ${a.name} ${fname}`;
        jobs.push(async () => {
          const id = a.mutates ? await makeFixture(base, cast, f, tag, fname) : shared.get(fname)!;
          out.set(key, await outcome(base, cast, caller, a.req(id, (n) => cast.project(n))));
        });
      }
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: o.parallel ?? 8 }, worker));
  return out;
}

/** Human-readable differences between two outcome tables. */
export function differences(want: Map<string, string>, got: Map<string, string>): string[] {
  const diffs: string[] = [];
  for (const [k, v] of want) if (got.get(k) !== v) diffs.push(`${k}: glance ${v}, imaged ${got.get(k)}`);
  return diffs;
}

/** The recorded table (test/policy/record.ts output): `case<TAB>outcome` lines. */
export function parseTable(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) m.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return m;
}

/** Cases where a live run of a subset disagrees with a full recorded table (its listings narrowed to the subset's fixtures). */
export function staleCases(recorded: Map<string, string>, live: Map<string, string>, fixtures: string[]): string[] {
  const inSubset = (v: string | undefined) =>
    v?.replace(/\[(.*)\]/, (_, names: string) => `[${names.split(' ').filter((n) => fixtures.includes(n)).join(' ')}]`);
  return [...live].filter(([k, v]) => inSubset(recorded.get(k)) !== v).map(([k, v]) => `${k}: live ${v}, recorded ${inSubset(recorded.get(k))}`);
}
