import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestDaemon } from '../helpers/daemon.js';
import { createImage, request, upload } from '../helpers/http.js';
import { freePort, run, ROOT } from '../helpers/proc.js';
import {
  adminToken, issueToken, keystoneCall, keystoneDir, keystoneEnv, keystoneValidations, postToken, startKeystoneDaemon, type KeystoneEnv,
} from '../helpers/keystone.js';

// imaged with [paste_deploy] flavor = keystone against the real Keystone test/run starts (test/env/keystone.sh).
// Nothing is skipped: without that Keystone, keystoneEnv() throws and every test here fails.

interface Ctx { k: KeystoneEnv; d: TestDaemon; alpha: string; beta: string; admin: string }
const t = suite<Ctx>('keystone: tokens validated against a real Keystone');

t.before(async (ctx) => {
  ctx.k = keystoneEnv();
  ctx.d = await startKeystoneDaemon(ctx.k, { tokenCacheTime: 3 });
  ctx.alpha = (await issueToken(ctx.k, 'alpha-member', { project: 'alpha' })).token;
  ctx.beta = (await issueToken(ctx.k, 'beta-reader', { project: 'beta' })).token;
  ctx.admin = await adminToken(ctx.k);
});
t.after(async (ctx) => {
  await ctx.d?.stop();
});

const auth = (token: string, extra: Record<string, string> = {}) => ({ 'X-Auth-Token': token, ...extra });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** uwsgi logs a request once it is answered: give it a moment before counting. */
const settledValidations = async (k: KeystoneEnv) => {
  await sleep(300);
  return keystoneValidations(k);
};

function assert401(r: { status: number; headers: http.IncomingHttpHeaders }, k: KeystoneEnv, what: string) {
  assert.is(r.status, 401, what);
  assert.is(r.headers['www-authenticate'], `Keystone uri="${k.url}"`, what);
}

t('/, /versions and /healthcheck need no token; /v2 does', async ({ d, k }) => {
  assert.is((await request(`${d.url}/`)).status, 300);
  assert.is((await request(`${d.url}/versions`)).status, 300);
  assert.is((await request(`${d.url}/healthcheck`)).status, 200);
  const r = await request(`${d.url}/v2/images`, { headers: { Accept: 'application/json' } });
  assert401(r, k, 'no token');
  assert.equal(r.json.code, 401);
  assert.match(r.json.message, 'could not verify that you are authorized');
  assert.ok(r.headers['x-openstack-request-id']);
  for (const p of ['/v2/schemas/image', '/v2/info/import', '/v2/images/x/file']) assert401(await request(`${d.url}${p}`), k, p);
});

t('a valid token: 200, and the context carries the project, user, domains, roles and catalog', async ({ d, k, alpha }) => {
  const img = await createImage(d.url, { name: 'ks-alpha' }, auth(alpha));
  assert.is(img.owner, k.env.KEYSTONE_PROJECT_ALPHA);
  const data = randomBytes(4096);
  assert.is((await upload(d.url, img.id, data, auth(alpha))).status, 204);
  const got = await request(`${d.url}/v2/images/${img.id}/file`, { headers: auth(alpha) });
  assert.is(got.status, 200);
  assert.ok(got.body.equals(data));
  const list = await request(`${d.url}/v2/images`, { headers: auth(alpha) });
  assert.ok(list.json.images.some((i: any) => i.id === img.id));

  const ctx = await d.daemon.internals.keystone!.authenticate(alpha, undefined, 'req-test');
  assert.is(ctx.projectId, k.env.KEYSTONE_PROJECT_ALPHA);
  assert.is(ctx.projectName, 'alpha');
  assert.is(ctx.projectDomainId, 'default');
  assert.is(ctx.userId, k.env.KEYSTONE_USER_ALPHA_MEMBER);
  assert.is(ctx.userName, 'alpha-member');
  assert.is(ctx.userDomainId, 'default');
  assert.equal([...ctx.roles].sort(), ['member', 'reader']); // implied reader
  assert.is(ctx.isAdmin, false);
  assert.is(ctx.domainId, null);
  assert.is(ctx.systemScope, null);
  assert.is(ctx.authToken, alpha);
  assert.is(ctx.requestId, 'req-test');
  const image = (ctx.serviceCatalog as any[]).find((s) => s.type === 'image');
  assert.ok(image?.endpoints.some((e: any) => e.url === k.imageUrl), 'include_service_catalog = true: the catalog is in the context');
});

t('another project\'s token: its own project in the context', async ({ d, k, beta }) => {
  const ctx = await d.daemon.internals.keystone!.authenticate(beta, undefined, 'r');
  assert.is(ctx.projectId, k.env.KEYSTONE_PROJECT_BETA);
  assert.equal(ctx.roles, ['reader']);
});

t('domain-, system-scoped and unscoped tokens: domainId / systemScope, no project', async ({ d, k }) => {
  const ks = d.daemon.internals.keystone!;
  const dom = await issueToken(k, 'admin', { domain: 'default' });
  const sys = await issueToken(k, 'admin', { system: true });
  const unscoped = await issueToken(k, 'alpha-norole', null);
  assert.is(dom.status, 201);
  assert.is(sys.status, 201);
  assert.is(unscoped.status, 201);
  const cd = await ks.authenticate(dom.token, undefined, 'r');
  assert.equal([cd.domainId, cd.projectId, cd.systemScope, cd.isAdmin], ['default', null, null, true]);
  const cs = await ks.authenticate(sys.token, undefined, 'r');
  assert.equal([cs.systemScope, cs.projectId, cs.domainId, cs.isAdmin], ['all', null, null, true]);
  const cu = await ks.authenticate(unscoped.token, undefined, 'r');
  assert.equal([cu.projectId, cu.roles, cu.userName], [null, [], 'alpha-norole']);
  assert.is((await request(`${d.url}/v2/images`, { headers: auth(sys.token) })).status, 200);
  // a user without a role in alpha cannot even get an alpha token
  assert.is((await issueToken(k, 'alpha-norole', { project: 'alpha' })).status, 401);
});

t('roles are lowercased', async ({ d, k, admin }) => {
  let role = await keystoneCall(k, admin, 'POST', '/roles', { role: { name: 'Imaged-MixedCase' } });
  if (role.status === 409) role = { status: 200, json: { role: (await keystoneCall(k, admin, 'GET', '/roles?name=Imaged-MixedCase')).json.roles[0] } };
  assert.ok(role.json?.role?.id, JSON.stringify(role));
  const put = await keystoneCall(k, admin, 'PUT', `/projects/${k.env.KEYSTONE_PROJECT_GAMMA}/users/${k.env.KEYSTONE_USER_GAMMA_READER}/roles/${role.json.role.id}`);
  assert.is(put.status, 204);
  const tok = await issueToken(k, 'gamma-reader', { project: 'gamma' });
  const ctx = await d.daemon.internals.keystone!.authenticate(tok.token, undefined, 'r');
  assert.ok(ctx.roles.includes('imaged-mixedcase'), ctx.roles.join());
});

t('garbage, truncated, altered, oversized and non-ASCII tokens: 401 + WWW-Authenticate, never 5xx', async ({ d, k, alpha }) => {
  for (const [what, tok] of [
    ['garbage', 'not-a-token'], ['truncated', alpha.slice(0, 60)], ['altered', alpha.slice(0, -4) + 'AAAA'], ['empty', ''], ['spaces', '   '],
  ] as const) {
    assert401(await request(`${d.url}/v2/images`, { headers: auth(tok) }), k, what);
  }
  // tokens Keystone could never have issued are refused without asking it
  const before = await settledValidations(k);
  assert401(await request(`${d.url}/v2/images`, { headers: auth('a'.repeat(9000)) }), k, 'oversized (9000 bytes)');
  assert401(await request(`${d.url}/v2/images`, { headers: { 'X-Auth-Token': Buffer.from(`${alpha}\u00e9`, 'latin1').toString('latin1') } }), k, 'non-ASCII');
  assert401(await rawRequest(d.url, `GET /v2/images HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${alpha.slice(0, 20)}\u00ff\u00fe\r\nConnection: close\r\n\r\n`), k, 'raw bytes');
  assert.is(await settledValidations(k), before, 'no Keystone call for impossible tokens');
  // whitespace around a valid token is tolerated (keystonemiddleware strips it)
  assert.is((await request(`${d.url}/v2/images`, { headers: auth(` ${alpha} `) })).status, 200);
  // beyond Node's 16 KiB header limit the request never reaches imaged (glance's eventlet says 400 at 16 KiB)
  const huge = await rawRequest(d.url, `GET /v2/images HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
  assert.ok(huge.status === 431 || huge.status === 400, String(huge.status));
});

t('concurrent requests with one new token make one Keystone validation (single-flight), later ones none', async ({ d, k }) => {
  const tok = (await issueToken(k, 'alpha-reader', { project: 'alpha' })).token;
  const client = d.daemon.internals.keystone!.client;
  const before = await settledValidations(k);
  const calls = client.calls.validate;
  const rs = await Promise.all(Array.from({ length: 24 }, () => request(`${d.url}/v2/images`, { headers: auth(tok) })));
  assert.equal(rs.map((r) => r.status), rs.map(() => 200));
  assert.is(client.calls.validate - calls, 1);
  assert.is(await settledValidations(k), before + 1, 'Keystone\'s own log: one GET /v3/auth/tokens');
  for (let i = 0; i < 5; i++) assert.is((await request(`${d.url}/v2/images`, { headers: auth(tok) })).status, 200);
  assert.is(client.calls.validate - calls, 1, 'warm: from the cache');
});

t('a revoked token is accepted until its cache entry ends (token_cache_time = 3 s), then 401', async ({ d, k, admin }) => {
  const tok = (await issueToken(k, 'beta-member', { project: 'beta' })).token;
  assert.is((await request(`${d.url}/v2/images`, { headers: auth(tok) })).status, 200);
  assert.is((await keystoneCall(k, admin, 'DELETE', '/auth/tokens', undefined, { 'X-Subject-Token': tok })).status, 204);
  assert.is((await request(`${d.url}/v2/images`, { headers: auth(tok) })).status, 200, 'within the cache window');
  await sleep(3300);
  assert401(await request(`${d.url}/v2/images`, { headers: auth(tok) }), k, 'revoked, after the window');
});

t('tokens of a disabled user or project: 401', async ({ d, k, admin }) => {
  const uid = k.env.KEYSTONE_USER_DISABLED;
  // the bootstrap leaves it disabled: it cannot get a token at all
  assert.is((await issueToken(k, 'alpha-disabled', { project: 'alpha' })).status, 401);
  assert.is((await keystoneCall(k, admin, 'PATCH', `/users/${uid}`, { user: { enabled: true } })).status, 200);
  let tok: string;
  try {
    tok = (await issueToken(k, 'alpha-disabled', { project: 'alpha' })).token;
  } finally {
    assert.is((await keystoneCall(k, admin, 'PATCH', `/users/${uid}`, { user: { enabled: false } })).status, 200);
  }
  assert401(await request(`${d.url}/v2/images`, { headers: auth(tok) }), k, 'disabled user');

  const name = `imaged-tmp-${randomBytes(4).toString('hex')}`;
  const p = await keystoneCall(k, admin, 'POST', '/projects', { project: { name, domain_id: 'default' } });
  assert.is(p.status, 201);
  const pid = p.json.project.id;
  try {
    const member = (await keystoneCall(k, admin, 'GET', '/roles?name=member')).json.roles[0].id;
    await keystoneCall(k, admin, 'PUT', `/projects/${pid}/users/${k.env.KEYSTONE_USER_ALPHA_MEMBER}/roles/${member}`);
    const ptok = (await issueToken(k, 'alpha-member', { project: name })).token;
    assert.ok(ptok);
    assert.is((await keystoneCall(k, admin, 'PATCH', `/projects/${pid}`, { project: { enabled: false } })).status, 200);
    assert401(await request(`${d.url}/v2/images`, { headers: auth(ptok) }), k, 'disabled project');
  } finally {
    await keystoneCall(k, admin, 'PATCH', `/projects/${pid}`, { project: { enabled: false } });
    await keystoneCall(k, admin, 'DELETE', `/projects/${pid}`);
  }
});

t('an expired token: 401; with an X-Service-Token holding the service role: accepted (allow_expired)', async ({ d, k }) => {
  const { token: expired, expiresAt } = await expiringToken(k, 5);
  await sleep(Math.max(0, expiresAt - Date.now() + 500));
  assert401(await request(`${d.url}/v2/images`, { headers: auth(expired) }), k, 'expired');
  const service = (await issueToken(k, 'imaged', { project: 'service' })).token;
  const ok = await request(`${d.url}/v2/images`, { headers: auth(expired, { 'X-Service-Token': service }) });
  assert.is(ok.status, 200);
  const ctx = await d.daemon.internals.keystone!.authenticate(expired, service, 'r');
  assert.is(ctx.projectId, k.env.KEYSTONE_PROJECT_ALPHA);
  // and the cache does not let the expired token in without the service token afterwards
  assert401(await request(`${d.url}/v2/images`, { headers: auth(expired) }), k, 'expired, no service token');
  // a service token without a service role does not allow expired tokens
  const notService = (await issueToken(k, 'beta-member', { project: 'beta' })).token;
  assert401(await request(`${d.url}/v2/images`, { headers: auth(expired, { 'X-Service-Token': notService }) }), k, 'service token without the service role');
  // an invalid service token fails the request even with a valid user token
  const alpha = (await issueToken(k, 'alpha-member', { project: 'alpha' })).token;
  assert401(await request(`${d.url}/v2/images`, { headers: auth(alpha, { 'X-Service-Token': 'bogus' }) }), k, 'bogus service token');
});

t('imaged\'s own service token refused by Keystone (its user disabled and enabled again): imaged re-authenticates', async ({ d, k, admin }) => {
  const client = d.daemon.internals.keystone!.client;
  assert.is((await request(`${d.url}/v2/images`, { headers: auth((await issueToken(k, 'gamma-member', { project: 'gamma' })).token) })).status, 200);
  const auths = client.calls.authenticate;
  // disabling a user revokes its tokens
  const sid = k.env.KEYSTONE_SERVICE_USER_ID;
  assert.is((await keystoneCall(k, admin, 'PATCH', `/users/${sid}`, { user: { enabled: false } })).status, 200);
  assert.is((await keystoneCall(k, admin, 'PATCH', `/users/${sid}`, { user: { enabled: true } })).status, 200);
  await sleep(1100); // revocation events have a one-second resolution
  const fresh = (await issueToken(k, 'gamma-reader', { project: 'gamma' })).token;
  assert.is((await request(`${d.url}/v2/images`, { headers: auth(fresh) })).status, 200);
  assert.is(client.calls.authenticate - auths, 1);
});

t('include_service_catalog = false: ?nocatalog, no catalog in the context', async ({ k }) => {
  const d2 = await startKeystoneDaemon(k, { includeServiceCatalog: false });
  try {
    const tok = (await issueToken(k, 'alpha-member', { project: 'alpha' })).token;
    const ctx = await d2.daemon.internals.keystone!.authenticate(tok, undefined, 'r');
    assert.is(ctx.serviceCatalog, null);
    await sleep(300);
    const lines = (await import('node:fs')).readFileSync(k.log, 'utf8').trim().split('\n');
    assert.match(lines.filter((l) => l.includes('GET /v3/auth/tokens')).at(-1)!, 'GET /v3/auth/tokens?nocatalog ');
  } finally {
    await d2.stop();
  }
});

t('delay_auth_decision = false: keystonemiddleware\'s own JSON 401', async ({ k }) => {
  const d2 = await startKeystoneDaemon(k, { delayAuthDecision: false });
  try {
    const r = await request(`${d2.url}/v2/images`);
    assert401(r, k, 'no token');
    assert.equal(r.json, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });
  } finally {
    await d2.stop();
  }
});

t('Keystone unreachable: 503 naming it, quickly; tokens already validated keep working', async ({ k }) => {
  const port = await freePort();
  const d2 = await startKeystoneDaemon(k, { authUrl: `http://127.0.0.1:${port}`, httpRequestMaxRetries: 1 });
  try {
    const t0 = Date.now();
    const r = await request(`${d2.url}/v2/images`, { headers: { 'X-Auth-Token': 'whatever-token', Accept: 'application/json' } });
    assert.is(r.status, 503);
    assert.match(r.json.message, 'Keystone');
    assert.match(r.json.message, 'unreachable');
    assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
  } finally {
    await d2.stop();
  }
});

t('Keystone hanging (accepts, never answers): 503 within http_connect_timeout', async ({ k }) => {
  const sockets = new Set<net.Socket>();
  const hang = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  const port = (hang.address() as net.AddressInfo).port;
  const d2 = await startKeystoneDaemon(k, { authUrl: `http://127.0.0.1:${port}`, httpConnectTimeout: 1 });
  try {
    await sleep(1500); // the start-up authentication attempt has given up by now: the requests make their own
    const t0 = Date.now();
    const rs = await Promise.all([0, 1, 2].map(() => request(`${d2.url}/v2/images`, { headers: { 'X-Auth-Token': 'some-token', Accept: 'application/json' } })));
    const ms = Date.now() - t0;
    assert.equal(rs.map((r) => r.status), [503, 503, 503]);
    assert.match(rs[0].json.message, 'did not answer within 1 s');
    assert.ok(ms >= 900 && ms < 4000, `${ms} ms`);
  } finally {
    await d2.stop();
    for (const s of sockets) s.destroy();
    hang.close();
  }
});

t('Keystone answering 500 or garbage: 503, never 500', async ({ k }) => {
  let mode: 'status500' | 'badjson' = 'status500';
  const fake = http.createServer((req, res) => {
    if (req.method === 'POST') {
      // authentication works; validation misbehaves
      res.writeHead(201, { 'Content-Type': 'application/json', 'X-Subject-Token': 'svc' });
      res.end(JSON.stringify({ token: { expires_at: new Date(Date.now() + 3600_000).toISOString(), catalog: [] } }));
      return;
    }
    if (mode === 'status500') {
      res.writeHead(500);
      res.end('boom');
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"token": ');
    }
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  const d2 = await startKeystoneDaemon(k, { authUrl: `http://127.0.0.1:${(fake.address() as net.AddressInfo).port}` });
  try {
    const r = await request(`${d2.url}/v2/images`, { headers: { 'X-Auth-Token': 'tok-1', Accept: 'application/json' } });
    assert.is(r.status, 503);
    assert.match(r.json.message, 'HTTP 500');
    mode = 'badjson';
    const r2 = await request(`${d2.url}/v2/images`, { headers: { 'X-Auth-Token': 'tok-2', Accept: 'application/json' } });
    assert.is(r2.status, 503);
    assert.match(r2.json.message, 'not JSON');
  } finally {
    await d2.stop();
    fake.close();
  }
});

t('Keystone stopped: 503 for new tokens; started again: works', async ({ d, k }) => {
  const dir = keystoneDir();
  const warm = (await issueToken(k, 'beta-reader', { project: 'beta' })).token;
  assert.is((await request(`${d.url}/v2/images`, { headers: auth(warm) })).status, 200);
  const cold = (await issueToken(k, 'beta-member', { project: 'beta' })).token;
  const stop = await run('bash', [path.join(ROOT, 'test/env/keystone.sh'), 'stop', dir], { timeoutMs: 60_000 });
  assert.is(stop.code, 0, stop.stderr);
  try {
    const r = await request(`${d.url}/v2/images`, { headers: auth(cold, { Accept: 'application/json' }) });
    assert.is(r.status, 503);
    assert.match(r.json.message, 'unreachable');
  } finally {
    const start = await run('bash', [path.join(ROOT, 'test/env/keystone.sh'), 'start', dir], { timeoutMs: 180_000 });
    assert.is(start.code, 0, start.stderr);
  }
  assert.is((await request(`${d.url}/v2/images`, { headers: auth(cold) })).status, 200, 'Keystone back');
});

t.run();

/** A token that expires after `seconds`: issued through an application credential that expires then. */
async function expiringToken(k: KeystoneEnv, seconds: number): Promise<{ token: string; expiresAt: number }> {
  const user = await issueToken(k, 'alpha-member', { project: 'alpha' });
  const expiresAt = new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d+Z$/, '');
  const ac = await keystoneCall(k, user.token, 'POST', `/users/${k.env.KEYSTONE_USER_ALPHA_MEMBER}/application_credentials`, {
    application_credential: { name: `short-${randomBytes(4).toString('hex')}`, secret: 'short-secret', expires_at: expiresAt },
  });
  assert.is(ac.status, 201, JSON.stringify(ac.json));
  const tok = await postToken(k, { identity: { methods: ['application_credential'], application_credential: { id: ac.json.application_credential.id, secret: 'short-secret' } } });
  assert.is(tok.status, 201);
  return { token: tok.token, expiresAt: Date.parse(`${tok.body.token.expires_at.replace(/Z$/, '')}Z`) };
}

/** Bytes exactly as given (Node's client refuses some header values). */
function rawRequest(base: string, text: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => s.end(Buffer.from(text, 'latin1')));
    let buf = '';
    s.on('data', (c) => (buf += c.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => {
      const [head] = buf.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const headers: http.IncomingHttpHeaders = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(lines[0])?.[1] ?? 0), headers });
    });
  });
}
