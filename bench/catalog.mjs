// What a catalog costs per listing as it grows: GET /v2/images latency (p50/p99) for the common listings, show
// latency while 4 clients list in a loop, and creates/s, at several catalog sizes; glance-api 25 (sqlite) at
// the smallest size side by side.
//
//   node bench/catalog.mjs [--sizes 1000,10000,100000] [--samples 60] [--glance-dir DIR] [--before-root DIR] [--out FILE]
//
// --before-root: another imaged tree (built, e.g. a checkout of the commit before the indexes) run on the same
// state directory after this one at each size, for a before/after figure on the same busy machine.
// imaged: bin/imaged (built dist/) on a free loopback port, noauth with trusted X-Project-Id/X-Roles headers;
// its catalog is filled before it starts by synthetic inserts through the LMDB catalog itself (same records and
// index entries as creates through the API: properties, tags, 200 projects, 5% public). glance-api: the
// test/env/glance.sh peer in --glance-dir (or $BENCH_GLANCE_DIR), filled through its API up to the smallest
// size; skipped when there is none. Listings are asked as a member of project-1. Scratch:
// $BENCH_TMPDIR (/tmp)/imaged-bcat.*, removed on exit.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SIZES = opt('sizes', '1000,10000,100000').split(',').map(Number);
const SAMPLES = Number(opt('samples', '60'));
const GLANCE_DIR = opt('glance-dir', process.env.BENCH_GLANCE_DIR);
const OUT = opt('out');
const BEFORE = opt('before-root');
const note = (m) => process.stderr.write(`bench/catalog: ${m}\n`);

if (!existsSync(path.join(ROOT, 'dist/cli/run.js'))) {
  note('building (npm run build:ts)');
  if (spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) process.exit(1);
}
const { LmdbCatalog } = await import(path.join(ROOT, 'dist/catalog/lmdb/catalog.js'));

const tmp = mkdtempSync(path.join(process.env.BENCH_TMPDIR ?? os.tmpdir(), 'imaged-bcat.'));
const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
  s.on('error', reject);
});

const PROJECTS = 200;
const H = (project = 'project-1', roles = 'member,reader') => ({ 'X-Project-Id': project, 'X-Roles': roles, Accept: 'application/json' });

/** The n-th synthetic image: what a cloud's catalog looks like (snapshots of many projects, a few public images). */
function image(n) {
  const t = new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString();
  return {
    id: `${(0x10000000 + n).toString(16)}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
    name: n % 10 === 0 ? 'cirros' : `image-${n}`, status: 'active', visibility: n % 20 === 0 ? 'public' : 'private',
    protected: false, os_hidden: false, owner: `project-${n % PROJECTS}`, checksum: 'c'.repeat(32), os_hash_algo: 'sha512',
    os_hash_value: 'h'.repeat(128), xxh3: null, size: 1_000_000 + n, virtual_size: null, min_ram: 0, min_disk: 0,
    disk_format: n % 3 ? 'qcow2' : 'raw', container_format: 'bare', created_at: t, updated_at: t,
    tags: n % 100 === 1 ? ['golden', 'bench'] : ['bench', `t${n % 50}`],
    properties: { os_distro: n % 2 ? 'debian' : 'ubuntu', hw_disk_bus: 'virtio', description: `synthetic image ${n} for bench/catalog` },
    locations: [{ url: `file:///nowhere/${n}`, store: 'file', metadata: {} }],
  };
}

const migrations = [];
/** The imaged before the indexes wrote images without index entries: the next open rebuilds them (a migration). */
let stale = false;
async function seed(stateDir, from, to) {
  const t0 = performance.now();
  const cat = new LmdbCatalog(stateDir);
  if (stale) migrations.push(`${from}+ images: indexes built in ${((performance.now() - t0) / 1000).toFixed(1)} s at open`);
  stale = false;
  for (let at = from; at < to; at += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, to - at) }, (_, i) => cat.insert(image(at + i))));
  }
  await cat.close();
}

async function startImaged(dir, root = ROOT) {
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
noauth_trust_headers = true
`);
  const child = spawn(path.join(root, 'bin/imaged'), ['--config-file', conf], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (c) => String(c).includes('listening') && resolve());
    child.on('exit', (code) => reject(new Error(`imaged exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function timed(url, headers = H()) {
  const t0 = performance.now();
  const r = await fetch(url, { headers });
  const body = await r.text();
  if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status} ${body.slice(0, 200)}`);
  return performance.now() - t0;
}

const LISTINGS = {
  default: '/v2/images',
  'own project': '/v2/images?owner=project-1',
  public: '/v2/images?visibility=public',
  'by tag': '/v2/images?tag=golden',
  'by name': '/v2/images?name=image-4201',
  'sorted by name': '/v2/images?sort=name:asc',
};

/** A child process listing in a loop with `clients` connections until killed. */
function listers(url, clients) {
  const code = `
    const loop = async () => { for (;;) { const r = await fetch(${JSON.stringify(url + '/v2/images')}, { headers: ${JSON.stringify(H())} }); await r.text(); } };
    for (let i = 0; i < ${clients}; i++) loop().catch(() => process.exit(0));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  children.add(child);
  return () => child.kill('SIGTERM');
}

async function measure(server, samples, idFor) {
  const row = {};
  for (const [name, q] of Object.entries(LISTINGS)) {
    await timed(server.url + q); // warm
    const xs = [];
    for (let i = 0; i < samples; i++) xs.push(await timed(server.url + q));
    row[name] = xs;
  }
  const showUrl = `${server.url}/v2/images/${idFor}`;
  const idle = [];
  for (let i = 0; i < samples; i++) idle.push(await timed(showUrl));
  row['show'] = idle;
  const stop = listers(server.url, 4);
  await new Promise((r) => setTimeout(r, 500));
  const busy = [];
  for (let i = 0; i < samples * 2; i++) busy.push(await timed(showUrl));
  stop();
  row['show, 4 listing'] = busy;
  return row;
}

/** Creates through the API with `conc` clients; images/s. */
async function creates(url, n, conc, body) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) {
      const i = next++;
      const r = await fetch(`${url}/v2/images`, { method: 'POST', headers: { ...H(`project-${i % PROJECTS}`, i % 20 === 0 ? 'admin' : 'member,reader'), 'Content-Type': 'application/json' }, body: JSON.stringify(body(i)) });
      if (r.status !== 201) throw new Error(`create: HTTP ${r.status} ${await r.text()}`);
      await r.text();
    }
  }));
  return (n / (performance.now() - t0)) * 1000;
}
const apiImage = (n) => {
  const img = image(n);
  return { name: img.name, visibility: img.visibility, disk_format: img.disk_format, container_format: 'bare', tags: img.tags, ...img.properties };
};

const results = []; // { who, size, row, createRate }
const dir = path.join(tmp, 'imaged');
let seeded = 0;
for (const size of SIZES) {
  note(`imaged: filling the catalog to ${size} images`);
  const t0 = performance.now();
  await seed(path.join(dir, 'state'), seeded, size);
  const seedRate = ((size - seeded) / (performance.now() - t0)) * 1000;
  seeded = size;
  for (const [who, root] of [['imaged', ROOT], ...(BEFORE ? [['imaged before indexes', BEFORE]] : [])]) {
    const server = await startImaged(dir, root);
    note(`${who} at ${size}: measuring`);
    const row = await measure(server, SAMPLES, image(1).id);
    // creates through the API add images with random ids beside the synthetic ones
    const createRate = await creates(server.url, 500, 8, (i) => apiImage(size + i));
    await server.stop();
    results.push({ who, size, row, createRate, seedRate: who === 'imaged' ? seedRate : NaN });
    if (root !== ROOT) {
      const env = open({ path: path.join(dir, 'state', 'catalog'), maxDbs: 32 });
      await env.openDB({ name: 'catalog-meta' }).remove('schema');
      await env.close();
      stale = true;
    }
  }
}

if (GLANCE_DIR && existsSync(path.join(GLANCE_DIR, 'env'))) {
  const env = Object.fromEntries(readFileSync(path.join(GLANCE_DIR, 'env'), 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"|"$/g, '')]));
  const url = env.GLANCE_URL;
  const size = SIZES[0];
  const have = JSON.parse(await (await fetch(`${url}/v2/images?limit=1000&visibility=all`, { headers: H('admin-project', 'admin') })).text()).images.length;
  note(`glance-api ${url}: ${have} images; creating ${Math.max(0, size - have)} through its API`);
  const createRate = size > have ? await creates(url, size - have, 4, apiImage) : NaN;
  const list = JSON.parse(await (await fetch(`${url}/v2/images?owner=project-1&limit=1`, { headers: H() })).text()).images;
  const row = await measure({ url }, Math.max(10, SAMPLES >> 1), list[0]?.id);
  results.push({ who: 'glance-api 25', size, row, createRate, seedRate: NaN });
}

const cols = [...Object.keys(LISTINGS), 'show', 'show, 4 listing'];
const lines = [];
const fmt = (x) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x < 10 ? x.toFixed(2) : x.toFixed(1));
lines.push(['who', 'images', ...cols.map((c) => `${c} p50/p99 ms`), 'creates/s (API)', 'inserts/s (direct)'].join('\t'));
for (const r of results) {
  lines.push([r.who, r.size, ...cols.map((c) => `${fmt(pct(r.row[c], 50))}/${fmt(pct(r.row[c], 99))}`), fmt(r.createRate), fmt(r.seedRate)].join('\t'));
}
const text = lines.join('\n');
console.log(text);
for (const m of migrations) console.log(`migration: ${m}`);
if (OUT) writeFileSync(OUT, [text, ...migrations].join('\n') + '\n');
