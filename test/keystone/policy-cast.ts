import { issueToken, keystoneCall, type KeystoneEnv } from '../helpers/keystone.js';
import { ADMIN_A, CALLERS, MEMBER_B, type Cast, type Caller } from '../policy/scenario.js';

// The policy scenario's callers as real Keystone users with project-scoped tokens: projects policy-x/a/b/c stand
// for proj-x/a/b/c, one user per caller with the caller's roles (Keystone's own admin→member→reader implications
// add the rest), and a role "nobody" that no policy names (a token needs some role on its project). Idempotent:
// what exists is reused, so a suite may run twice against one Keystone.

const PASSWORD = 'policy-pass';
const projectName = (p: string) => p.replace(/^proj-/, 'policy-');
const userName = (c: Caller) => `policy-${c.name}`;

async function ensure(k: KeystoneEnv, admin: string, kind: 'projects' | 'roles' | 'users', name: string, body: object): Promise<string> {
  const q = kind === 'roles' ? `?name=${name}` : `?name=${name}&domain_id=default`;
  const have = (await keystoneCall(k, admin, 'GET', `/${kind}${q}`)).json?.[kind]?.[0];
  if (have) return have.id;
  const r = await keystoneCall(k, admin, 'POST', `/${kind}`, body);
  if (r.status !== 201) throw new Error(`keystone: create ${kind} ${name}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  return Object.values(r.json as Record<string, { id: string }>)[0].id;
}

/** Creates (or finds) the scenario's projects and users in Keystone, and returns the cast with their tokens. */
export async function keystoneCast(k: KeystoneEnv, admin: string): Promise<Cast> {
  const projects = new Map<string, string>();
  for (const p of ['proj-x', 'proj-a', 'proj-b', 'proj-c']) {
    projects.set(p, await ensure(k, admin, 'projects', projectName(p), { project: { name: projectName(p), domain_id: 'default' } }));
  }
  const roles = new Map<string, string>();
  for (const r of ['admin', 'member', 'reader', 'nobody']) roles.set(r, await ensure(k, admin, 'roles', r, { role: { name: r } }));
  const tokens = new Map<string, string>();
  for (const c of [...CALLERS, ADMIN_A]) {
    const user = await ensure(k, admin, 'users', userName(c), { user: { name: userName(c), domain_id: 'default', password: PASSWORD, enabled: true } });
    for (const role of c.roles.split(',')) {
      const r = await keystoneCall(k, admin, 'PUT', `/projects/${projects.get(c.project)}/users/${user}/roles/${roles.get(role)}`);
      if (r.status !== 204) throw new Error(`keystone: grant ${role} on ${c.project} to ${userName(c)}: HTTP ${r.status}`);
    }
    const t = await issueToken(k, userName(c), { project: projectName(c.project) }, PASSWORD);
    if (t.status !== 201) throw new Error(`keystone: token for ${userName(c)}: HTTP ${t.status} ${JSON.stringify(t.body)}`);
    tokens.set(c.name, t.token);
  }
  if (tokens.get(MEMBER_B.name) === undefined) throw new Error('the cast has no member of proj-b');
  return {
    headers: (c) => ({ 'X-Auth-Token': tokens.get(c.name)! }),
    project: (name) => {
      const id = projects.get(name);
      if (!id) throw new Error(`no project ${name} in the cast`);
      return id;
    },
  };
}
