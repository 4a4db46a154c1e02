// What Keystone authentication costs imaged: image show and list latency (p50/p99) and request rate with
// [paste_deploy] flavor = keystone (warm token cache) vs noauth, side by side in one run, plus the cold-token
// cost (first request with a new token = one Keystone validation) and the warm path measured in-process.
//
//   node bench/auth.mjs [--duration S=5] [--rounds N=2] [--connections C=8] [--keystone-dir DIR] [--out FILE]
//
// Two imaged processes (bin/imaged, built dist/) on free loopback ports with the same file store layout and
// 50 images each; autocannon drives them in turn (order alternating per round). Keystone: the one in
// --keystone-dir (or $BENCH_KEYSTONE_DIR) when its env file exists, else a fresh test/env/keystone.sh in the
// scratch dir on a free port (≈ 50 s to bootstrap; purged on exit). Scratch: $BENCH_TMPDIR (/tmp)/imaged-bauth.*.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const DURATION = Number(opt('duration', '5'));
const ROUNDS = Number(opt('rounds', '2'));
const CONNS = Number(opt('connections', '8'));
const OUT = opt('out');
const note = (m) => process.stderr.write(`bench/auth: ${m}\n`);

if (!existsSync(path.join(ROOT, 'dist/cli/run.js'))) {
  note('building (npm run build:ts)');
  if (spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) process.exit(1);
}

const tmp = mkdtempSync(path.join(process.env.BENCH_TMPDIR ?? os.tmpdir(), 'imaged-bauth.'));
const children = [];
let ownKeystone = null;
function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  if (ownKeystone) spawnSync('bash', [path.join(ROOT, 'test/env/keystone.sh'), 'purge', ownKeystone], { stdio: 'ignore' });
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
  s.on('error', reject);
});
const readEnv = (dir) => Object.fromEntries(readFileSync(path.join(dir, 'env'), 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

// --- Keystone ---------------------------------------------------------------------------------------------
let ksDir = opt('keystone-dir', process.env.BENCH_KEYSTONE_DIR);
if (!ksDir || !existsSync(path.join(ksDir, 'env'))) {
  ksDir = path.join(tmp, 'keystone');
  note(`starting a Keystone in ${ksDir} (test/env/keystone.sh)`);
  ownKeystone = ksDir;
  const r = spawnSync('bash', [path.join(ROOT, 'test/env/keystone.sh'), 'start', ksDir], {
    stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, IMAGED_KEYSTONE_PORT: String(await freePort()), IMAGED_KEYSTONE_IMAGE_PORT: String(await freePort()) },
  });
  if (r.status !== 0) throw new Error('Keystone did not start');
}
const K = readEnv(ksDir);
async function token(user, project) {
  const r = await fetch(`${K.KEYSTONE_V3}/auth/tokens?nocatalog`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password: K.KEYSTONE_DEMO_PASSWORD } } }, scope: { project: { name: project, domain: { id: 'default' } } } } }),
  });
  if (r.status !== 201) throw new Error(`token for ${user}: HTTP ${r.status}`);
  return r.headers.get('x-subject-token');
}
const validations = () => readFileSync(K.KEYSTONE_LOG, 'utf8').split('\n').filter((l) => / GET \/v3\/auth\/tokens[ ?]/.test(l)).length;

// --- two imaged -------------------------------------------------------------------------------------------
const keystoneSection = `[paste_deploy]
flavor = keystone
[keystone_authtoken]
www_authenticate_uri = ${K.KEYSTONE_URL}
auth_url = ${K.KEYSTONE_URL}
auth_type = password
username = imaged
password = ${K.KEYSTONE_SERVICE_PASSWORD}
user_domain_name = Default
project_name = service
project_domain_name = Default
region_name = ${K.KEYSTONE_REGION}
`;
async function startImaged(name, extra) {
  const dir = path.join(tmp, name);
  for (const d of ['images', 'state']) mkdirSync(path.join(dir, d), { recursive: true });
  const port = await freePort();
  const conf = path.join(dir, 'glance-api.conf');
  writeFileSync(conf, `[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${port}
[glance_store]
default_store = file
filesystem_store_datadir = ${dir}/images
[imaged]
state_dir = ${dir}/state
service_uid = ${process.getuid()}
service_gid = ${process.getgid()}
log_level = warn
noauth_project_id = ${K.KEYSTONE_PROJECT_ALPHA}
${extra}`);
  const child = spawn(path.join(ROOT, 'bin/imaged'), ['--config-file', conf], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (c) => String(c).includes('listening') && resolve());
    child.on('exit', (code) => reject(new Error(`imaged ${name} exited (${code})`)));
  });
  return { name, url: `http://127.0.0.1:${port}`, pid: child.pid };
}

const noauth = await startImaged('noauth', '');
const keystone = await startImaged('keystone', keystoneSection);
const userToken = await token('alpha-member', 'alpha');
const H = { 'X-Auth-Token': userToken, Accept: 'application/json' }; // same headers for both (noauth ignores the token)

async function seed(d) {
  let id;
  for (let i = 0; i < 50; i++) {
    const r = await fetch(`${d.url}/v2/images`, { method: 'POST', headers: { ...H, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `bench-${i}`, disk_format: 'raw', container_format: 'bare' }) });
    if (r.status !== 201) throw new Error(`${d.name}: create HTTP ${r.status} ${await r.text()}`);
    id = (await r.json()).id;
  }
  return id;
}
const ids = { noauth: await seed(noauth), keystone: await seed(keystone) };

// --- throughput and latency, interleaved -----------------------------------------------------------------
const endpoints = { show: (d) => `${d.url}/v2/images/${ids[d.name]}`, list: (d) => `${d.url}/v2/images?limit=20` };
const runs = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const [ep, url] of Object.entries(endpoints)) {
    const order = round % 2 === 0 ? [noauth, keystone] : [keystone, noauth];
    for (const d of order) {
      const r = await autocannon({ url: url(d), connections: CONNS, duration: DURATION, headers: H });
      const bad = r.non2xx + r.errors + r.timeouts;
      if (bad) throw new Error(`${d.name} ${ep}: ${bad} failed requests`);
      runs.push({ round, ep, mode: d.name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.mean });
      note(`round ${round + 1} ${ep} ${d.name}: ${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`);
    }
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// --- cold tokens: the first request with a new token pays one validation -----------------------------------
const COLD = 30;
const coldMs = [];
const warmMs = [];
const v0 = validations();
for (let i = 0; i < COLD; i++) {
  const t = await token(['alpha-reader', 'beta-member', 'gamma-reader'][i % 3], ['alpha', 'beta', 'gamma'][i % 3]);
  const time = async () => {
    const t0 = performance.now();
    const r = await fetch(`${keystone.url}/v2/images?limit=1`, { headers: { 'X-Auth-Token': t } });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`cold request: HTTP ${r.status}`);
    return performance.now() - t0;
  };
  coldMs.push(await time());
  warmMs.push(await time());
}
await new Promise((r) => setTimeout(r, 300));
const coldValidations = validations() - v0;

// --- the warm path in-process: KeystoneAuth.authenticate with a cached token vs noauthContext ---------------
const { KeystoneAuth } = await import(path.join(ROOT, 'dist/auth/keystone.js'));
const { noauthContext } = await import(path.join(ROOT, 'dist/auth/context.js'));
const { pino } = await import('pino');
const ka = new KeystoneAuth({
  authUrl: K.KEYSTONE_URL, wwwAuthenticateUri: K.KEYSTONE_URL, username: 'imaged', userId: null, password: K.KEYSTONE_SERVICE_PASSWORD,
  userDomainId: null, userDomainName: 'Default', projectName: 'service', projectId: null, projectDomainId: null, projectDomainName: 'Default', systemScope: null,
  regionName: K.KEYSTONE_REGION, interface: 'internal', serviceTokenRoles: ['service'], serviceTokenRolesRequired: false, tokenCacheTime: 300,
  includeServiceCatalog: true, httpConnectTimeout: 10, httpRequestMaxRetries: 3, delayAuthDecision: true,
}, pino({ level: 'silent' }));
await ka.authenticate(userToken, undefined, 'warmup');
const N = 200_000;
let t0 = performance.now();
for (let i = 0; i < N; i++) await ka.authenticate(userToken, undefined, 'r');
const warmUs = ((performance.now() - t0) * 1000) / N;
const ns = { project: 'p', user: 'u', roles: ['admin'], trustHeaders: false };
t0 = performance.now();
for (let i = 0; i < N; i++) noauthContext(ns, () => undefined, 'r');
const noauthUs = ((performance.now() - t0) * 1000) / N;

// --- report -------------------------------------------------------------------------------------------------
const lines = [];
const out = (s = '') => lines.push(s);
out(`imaged auth cost: ${ROUNDS} round(s) x ${DURATION} s per run, autocannon -c ${CONNS}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`);
out('');
out('endpoint  mode       req/s    p50 ms  p99 ms   (medians over rounds)');
const summary = {};
for (const ep of Object.keys(endpoints)) {
  for (const mode of ['noauth', 'keystone']) {
    const rs = runs.filter((r) => r.ep === ep && r.mode === mode);
    const m = { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)) };
    summary[`${ep}/${mode}`] = m;
    out(`${ep.padEnd(9)} ${mode.padEnd(9)} ${m.rps.toFixed(0).padStart(7)} ${String(m.p50).padStart(8)} ${String(m.p99).padStart(7)}`);
  }
  // median of the per-round ratios: both modes of a round ran back to back, so drift on the machine cancels
  const ratio = (f) => median([...Array(ROUNDS).keys()].map((round) => {
    const [n, k] = ['noauth', 'keystone'].map((mode) => runs.find((r) => r.round === round && r.ep === ep && r.mode === mode));
    return f(k) / f(n);
  }));
  summary[`${ep}/ratio`] = { rps: ratio((r) => r.rps), p50: ratio((r) => r.p50), p99: ratio((r) => r.p99) };
  const q = summary[`${ep}/ratio`];
  out(`${ep.padEnd(9)} keystone/noauth (median of per-round ratios): req/s x${q.rps.toFixed(3)}, p50 x${q.p50.toFixed(2)}, p99 x${q.p99.toFixed(2)}`);
}
out('');
out(`cold token (first request, one Keystone validation): p50 ${median(coldMs).toFixed(1)} ms; the same token's second request p50 ${median(warmMs).toFixed(1)} ms;`);
out(`  cold cost p50 ${median(coldMs.map((c, i) => c - warmMs[i])).toFixed(1)} ms; Keystone validations for ${COLD} new tokens x 2 requests: ${coldValidations}`);
out(`warm path in-process: KeystoneAuth.authenticate ${warmUs.toFixed(2)} µs/request vs noauthContext ${noauthUs.toFixed(2)} µs (added ${(warmUs - noauthUs).toFixed(2)} µs; target ≤ 100 µs)`);
process.stdout.write(lines.join('\n') + '\n');
if (OUT) writeFileSync(OUT, JSON.stringify({ runs, summary, coldMs, warmMs, coldValidations, warmUs, noauthUs }, null, 2));
process.exit(0);
