import { readFileSync } from 'node:fs';
import type { KeystoneConfig } from '../../src/config/index.js';
import { readEnvFile } from './envfile.js';
import { startTestDaemon, type TestDaemon, type TestDaemonOptions } from './daemon.js';

/** The real Keystone that test/run starts (test/env/keystone.sh); its env file says where it is and who is in it. */
export interface KeystoneEnv {
  url: string;
  v3: string;
  region: string;
  adminPassword: string;
  servicePassword: string;
  demoPassword: string;
  /** the image endpoint in the catalog: where a keystone-backed test imaged listens when clients need the catalog */
  imageUrl: string;
  imagePort: number;
  /** uwsgi's request log: one line per Keystone request */
  log: string;
  env: Record<string, string>;
}

export const keystoneDir = () => process.env.IMAGED_TEST_KEYSTONE_DIR ?? '/tmp/imaged-keystone';

export function keystoneEnv(): KeystoneEnv {
  const env = readEnvFile(keystoneDir(), 'test/env/keystone.sh start');
  return {
    url: env.KEYSTONE_URL, v3: env.KEYSTONE_V3, region: env.KEYSTONE_REGION,
    adminPassword: env.KEYSTONE_ADMIN_PASSWORD, servicePassword: env.KEYSTONE_SERVICE_PASSWORD, demoPassword: env.KEYSTONE_DEMO_PASSWORD,
    imageUrl: env.KEYSTONE_IMAGE_URL, imagePort: Number(env.KEYSTONE_IMAGE_PORT), log: env.KEYSTONE_LOG, env,
  };
}

export type Scope = { project: string } | { domain: string } | { system: true } | null;

/** A token from Keystone for a user of the test Keystone (password auth; project names in domain default). */
export async function issueToken(k: KeystoneEnv, user: string, scope: Scope, password?: string): Promise<{ token: string; body: any; status: number }> {
  const pw = password ?? (user === 'admin' ? k.adminPassword : user === 'imaged' ? k.servicePassword : k.demoPassword);
  const s = scope === null ? undefined
    : 'project' in scope ? { project: { name: scope.project, domain: { id: 'default' } } }
      : 'domain' in scope ? { domain: { id: scope.domain } } : { system: { all: true } };
  return postToken(k, { identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password: pw } } }, ...(s ? { scope: s } : {}) });
}

export async function postToken(k: KeystoneEnv, auth: object): Promise<{ token: string; body: any; status: number }> {
  const r = await fetch(`${k.v3}/auth/tokens?nocatalog`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ auth }) });
  const body = await r.json().catch(() => null);
  return { token: r.headers.get('x-subject-token') ?? '', body, status: r.status };
}

/** A Keystone API call with a token; returns status and JSON. */
export async function keystoneCall(k: KeystoneEnv, token: string, method: string, path: string, body?: object, headers: Record<string, string> = {}) {
  const r = await fetch(`${k.v3}${path}`, {
    method, headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json', ...headers }, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, json };
}

export async function adminToken(k: KeystoneEnv): Promise<string> {
  const t = await issueToken(k, 'admin', { project: 'admin' });
  if (t.status !== 201) throw new Error(`admin token: HTTP ${t.status}`);
  return t.token;
}

/** imaged's [keystone_authtoken] for the test Keystone (as the service user imaged). */
export function keystoneConfig(k: KeystoneEnv, over: Partial<KeystoneConfig> = {}): KeystoneConfig {
  return {
    authUrl: k.url, wwwAuthenticateUri: k.url, username: 'imaged', userId: null, password: k.servicePassword,
    userDomainId: null, userDomainName: 'Default', projectName: 'service', projectId: null, projectDomainId: null,
    projectDomainName: 'Default', systemScope: null, regionName: k.region, interface: 'internal', serviceTokenRoles: ['service'],
    serviceTokenRolesRequired: false, tokenCacheTime: 300, includeServiceCatalog: true, httpConnectTimeout: 10,
    httpRequestMaxRetries: 3, delayAuthDecision: true, ...over,
  };
}

/** An in-process imaged that authenticates with Keystone. */
export async function startKeystoneDaemon(k: KeystoneEnv, over: Partial<KeystoneConfig> = {}, o: TestDaemonOptions & { port?: number } = {}): Promise<TestDaemon> {
  return startTestDaemon({
    ...o,
    trustHeaders: false,
    tweak: (c) => {
      c.imaged.auth = 'keystone';
      c.keystone = keystoneConfig(k, over);
      if (o.port !== undefined) c.bindPort = o.port;
      o.tweak?.(c);
    },
  });
}

/** How many token validations (GET /v3/auth/tokens) Keystone has served so far (its uwsgi request log). */
export function keystoneValidations(k: KeystoneEnv): number {
  return readFileSync(k.log, 'utf8').split('\n').filter((l) => / GET \/v3\/auth\/tokens[ ?]/.test(l)).length;
}
