import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import http from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestDaemon, ADMIN, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, upload, PATCH_TYPE, type Reply } from '../helpers/http.js';
import { run } from '../helpers/proc.js';
import { readEnvFile } from '../helpers/envfile.js';
import type { Config, StoreConfig } from '../../src/config/index.js';

// The swift store against the real all-in-one Swift that test/run starts (test/env/swift.sh).

const MiB = 1024 * 1024;

interface SwiftEnv {
  dir: string;
  authUrl: string;
  user: string;
  key: string;
  proxyLog: string;
  memcachedPort: number;
}

/** DIR/env of test/env/swift.sh, read the way test/helpers/ceph.ts reads Ceph's. */
function swiftEnv(): SwiftEnv {
  const dir = process.env.IMAGED_TEST_SWIFT_DIR ?? '/tmp/imaged-swift';
  const env = readEnvFile(dir, 'test/env/swift.sh start');
  return { dir, authUrl: env.SWIFT_AUTH_URL, user: env.SWIFT_USER, key: env.SWIFT_KEY, proxyLog: env.SWIFT_PROXY_LOG, memcachedPort: Number(env.SWIFT_MEMCACHED_PORT) };
}

async function swiftScript(env: SwiftEnv, cmd: string) {
  const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../env/swift.sh');
  const r = await run('bash', [script, cmd, env.dir], { timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`swift.sh ${cmd} failed: ${r.stdout}\n${r.stderr}`);
}

/** The Swift API as the test sees it (tempauth v1, a fresh token each call: tokens get flushed here). */
async function swift(env: SwiftEnv, method: string, p: string, headers: Record<string, string | number> = {}, body?: Buffer): Promise<Reply> {
  const a = await request(env.authUrl, { headers: { 'X-Auth-User': env.user, 'X-Auth-Key': env.key } });
  if (a.status !== 200) throw new Error(`tempauth login failed: ${a.status}`);
  return request(`${a.headers['x-storage-url']}${p}`, { method, headers: { 'X-Auth-Token': a.headers['x-auth-token'] as string, ...headers }, body });
}

async function listing(env: SwiftEnv, container: string, prefix = ''): Promise<Array<{ name: string; bytes: number }>> {
  const r = await swift(env, 'GET', `/${container}?format=json&prefix=${encodeURIComponent(prefix)}`);
  if (r.status === 404) return [];
  assert.ok(r.status === 200 || r.status === 204, `listing ${container}: ${r.status}`);
  return r.status === 204 ? [] : r.json.map((o: any) => ({ name: o.name, bytes: o.bytes }));
}

/** Every tempauth token is gone (they live only in memcached): the next request with an old one gets 401. */
function flushTokens(env: SwiftEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(env.memcachedPort, '127.0.0.1', () => s.write('flush_all\r\n'));
    s.on('data', (d) => {
      s.end();
      if (d.toString().startsWith('OK')) resolve();
      else reject(new Error(`memcached: ${d}`));
    });
    s.on('error', reject);
  });
}

interface SwiftOpts {
  container: string;
  authUrl?: string;
  authVersion?: string;
  region?: string;
  key?: string;
  configFile?: string;
  reference?: string;
  create?: boolean;
  retries?: number;
}

function withSwift(c: Config, env: SwiftEnv, o: SwiftOpts) {
  const store: StoreConfig = {
    ...c.stores[0], id: 'swift', type: 'swift', description: 'Swift', weight: 0, isDefault: true, datadir: undefined,
    options: {}, thinProvisioning: false,
    swift: {
      authAddress: o.configFile ? '' : (o.authUrl ?? env.authUrl), user: o.configFile ? '' : env.user, key: o.configFile ? '' : (o.key ?? env.key),
      authVersion: o.authVersion ?? '1', container: o.container, createContainerOnPut: o.create ?? true,
      largeObjectSize: 2 * MiB, largeObjectChunkSize: 1 * MiB, // small, so a few MiB make segments
      configFile: o.configFile ?? null, reference: o.reference ?? 'ref1', region: o.region ?? '', endpointType: 'publicURL',
      serviceType: 'object-store', insecure: false, retryGetCount: o.retries ?? 0,
    },
  };
  c.stores = [store, { ...c.stores[0], id: 'local', isDefault: false }];
  c.defaultStore = 'swift';
  c.multiStore = true;
  c.showImageDirectUrl = true;
  c.showMultipleLocations = true; // Glance's switch for registering existing data by location
}

async function storeDetail(d: TestDaemon, store = 'swift') {
  const r = await request(`${d.url}/v2/info/stores/detail`, { headers: ADMIN });
  return r.json.stores.find((x: any) => x.id === store);
}

async function waitAvailable(d: TestDaemon, ms = 30_000) {
  const until = Date.now() + ms;
  for (;;) {
    const s = await storeDetail(d);
    if (!s.unavailable) return;
    if (Date.now() > until) throw new Error(`store swift still unavailable: ${s.unavailable}`);
    await sleep(200);
  }
}

/** The store's reason once it has tried (not the initial "connecting"). */
async function settledReason(d: TestDaemon): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const why: string = (await storeDetail(d)).unavailable ?? '';
    if (why && !/^connecting/.test(why)) return why;
    await sleep(100);
  }
  throw new Error('the swift store never reported a reason');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const rand = () => randomBytes(4).toString('hex');

/** PUT /file with Transfer-Encoding: chunked (no size announced). */
function uploadChunked(base: string, id: string, data: Buffer, headers: Record<string, string> = {}): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = http.request(`${base}/v2/images/${id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked', ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    for (let o = 0; o < data.length; o += 65536) req.write(data.subarray(o, o + 65536));
    req.end();
  });
}

async function waitFor<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const t = suite<{ d: TestDaemon; env: SwiftEnv; container: string; setupError?: Error }>('swift store on a real Swift');
t.before(async (ctx) => {
  // uvu swallows a failing before hook's message: keep it and fail every test with it instead
  try {
    ctx.env = swiftEnv();
    ctx.container = `imaged-test-${rand()}`;
    ctx.d = await startTestDaemon({ tweak: (c) => withSwift(c, ctx.env, { container: ctx.container, retries: 2 }) });
    await waitAvailable(ctx.d);
  } catch (e) {
    ctx.setupError = e as Error;
  }
});
t.before.each((ctx) => {
  if (ctx.setupError) throw ctx.setupError;
});
t.after(async (ctx) => {
  await ctx.d?.stop();
  if (!ctx.env || ctx.setupError) return;
  // leave the shared Swift as found: this run's containers go
  const r = await swift(ctx.env, 'GET', '?format=json');
  for (const c of (r.json ?? []).filter((x: any) => x.name.startsWith('imaged-test-'))) {
    for (const o of await listing(ctx.env, c.name)) await swift(ctx.env, 'DELETE', `/${c.name}/${encodeURIComponent(o.name)}`);
    await swift(ctx.env, 'DELETE', `/${c.name}`);
  }
});

t('stores detail: swift properties as glance shows them', async ({ d, container }) => {
  const s = await storeDetail(d);
  assert.is(s.type, 'swift');
  assert.is(s.default, 'true');
  assert.equal(s.properties, { container, large_object_size: 2 * MiB, large_object_chunk_size: 1 * MiB });
  assert.is(s.unavailable, undefined);
});

t('known size below large_object_size: one object; checksum, download, Range 206, glance location', async ({ d, env, container }) => {
  const data = randomBytes(1.5 * MiB + 7);
  const img = await createImage(d.url, { name: 'swift-small' });
  const r = await upload(d.url, img.id, data, { 'x-openstack-image-size': data.length });
  assert.is(r.status, 204, r.body.toString());
  const s = (await request(`${d.url}/v2/images/${img.id}`)).json;
  assert.is(s.status, 'active');
  assert.is(s.stores, 'swift');
  assert.is(s.size, data.length);
  assert.is(s.checksum, md5(data));
  const authRest = env.authUrl.replace(/^http:\/\//, '');
  assert.is(s.direct_url, `swift+http://${encodeURIComponent(env.user)}:${env.key}@${authRest}/${container}/${img.id}`);
  assert.equal(await listing(env, container, img.id), [{ name: img.id, bytes: data.length }]);
  const head = await swift(env, 'HEAD', `/${container}/${img.id}`);
  assert.is(head.headers['x-object-manifest'], undefined);
  assert.is(head.headers.etag, md5(data)); // Swift's own checksum of what it stored

  const g = await request(`${d.url}/v2/images/${img.id}/file`);
  assert.is(g.status, 200);
  assert.is(g.headers['content-md5'], md5(data));
  assert.ok(g.body.equals(data));
  const rg = await request(`${d.url}/v2/images/${img.id}/file`, { headers: { Range: 'bytes=1000-1048999' } });
  assert.is(rg.status, 206);
  assert.is(rg.headers['content-range'], `bytes 1000-1048999/${data.length}`);
  assert.ok(rg.body.equals(data.subarray(1000, 1049000)));
  const tail = await request(`${d.url}/v2/images/${img.id}/file`, { headers: { Range: 'bytes=-100' } });
  assert.is(tail.status, 206);
  assert.ok(tail.body.equals(data.subarray(data.length - 100)));
});

t('unknown size (chunked): segments <id>-00001… plus a DLO manifest, as glance; Range across a segment boundary', async ({ d, env, container }) => {
  const data = randomBytes(1.25 * MiB + 3);
  const img = await createImage(d.url, { name: 'swift-chunked' });
  assert.is(await uploadChunked(d.url, img.id, data), 204);
  const s = (await request(`${d.url}/v2/images/${img.id}`)).json;
  assert.is(s.status, 'active');
  assert.is(s.size, data.length);
  assert.is(s.checksum, md5(data));
  assert.equal(await listing(env, container, img.id), [
    { name: img.id, bytes: 0 },
    { name: `${img.id}-00001`, bytes: MiB },
    { name: `${img.id}-00002`, bytes: data.length - MiB },
  ]);
  const head = await swift(env, 'HEAD', `/${container}/${img.id}`);
  assert.is(head.headers['x-object-manifest'], `${container}/${img.id}-`);
  assert.is(Number(head.headers['content-length']), data.length);
  assert.ok((await request(`${d.url}/v2/images/${img.id}/file`)).body.equals(data));
  const rg = await request(`${d.url}/v2/images/${img.id}/file`, { headers: { Range: `bytes=${MiB - 10}-${MiB + 9}` } });
  assert.is(rg.status, 206);
  assert.ok(rg.body.equals(data.subarray(MiB - 10, MiB + 10)));
});

t('empty images, with and without a size', async ({ d, env, container }) => {
  for (const chunked of [false, true]) {
    const img = await createImage(d.url, { name: `swift-empty-${chunked}` });
    const status = chunked ? await uploadChunked(d.url, img.id, Buffer.alloc(0)) : (await upload(d.url, img.id, Buffer.alloc(0))).status;
    assert.is(status, 204);
    const s = (await request(`${d.url}/v2/images/${img.id}`)).json;
    assert.is(s.status, 'active');
    assert.is(s.size, 0);
    const g = await request(`${d.url}/v2/images/${img.id}/file`);
    assert.is(g.status, 200);
    assert.is(g.body.length, 0);
    assert.is((await listing(env, container, img.id)).length, 1);
  }
});

t('large image (known size above large_object_size): 1 MiB segments + manifest, intact; delete removes all', async ({ d, env, container }) => {
  const data = randomBytes(5 * MiB + 3);
  const img = await createImage(d.url, { name: 'swift-large' });
  assert.is((await upload(d.url, img.id, data, { 'x-openstack-image-size': data.length })).status, 204);
  const objs = await listing(env, container, img.id);
  assert.equal(objs.map((o) => o.name), [img.id, ...[1, 2, 3, 4, 5, 6].map((n) => `${img.id}-0000${n}`)]);
  assert.equal(objs.map((o) => o.bytes), [0, MiB, MiB, MiB, MiB, MiB, 3]);
  const g = await request(`${d.url}/v2/images/${img.id}/file`);
  assert.is(g.status, 200);
  assert.ok(g.body.equals(data));
  const rg = await request(`${d.url}/v2/images/${img.id}/file`, { headers: { Range: `bytes=${2 * MiB - 5}-${4 * MiB + 5}` } });
  assert.ok(rg.body.equals(data.subarray(2 * MiB - 5, 4 * MiB + 6)));
  assert.is((await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE' })).status, 204);
  assert.equal(await listing(env, container, img.id), []);
});

t('upload cut midway: partial segments removed, image back to queued', async ({ d, env, container }) => {
  const img = await createImage(d.url, { name: 'swift-aborted' });
  const req = http.request(`${d.url}/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': 8 * MiB } });
  req.on('error', () => {});
  req.write(randomBytes(3 * MiB));
  await waitFor('two segments in Swift', async () => (await listing(env, container, `${img.id}-`)).length >= 2);
  req.destroy();
  await waitFor('queued and no objects left', async () => {
    const st = (await request(`${d.url}/v2/images/${img.id}`)).json.status;
    return st === 'queued' && (await listing(env, container, img.id)).length === 0;
  });
  // and the image can be uploaded again
  const data = randomBytes(3 * MiB);
  assert.is((await upload(d.url, img.id, data)).status, 204);
  assert.ok((await request(`${d.url}/v2/images/${img.id}/file`)).body.equals(data));
});

t('tokens flushed mid-upload and before a download: re-authenticates once and carries on', async ({ d, env, container }) => {
  const data = randomBytes(6 * MiB + 11);
  const img = await createImage(d.url, { name: 'swift-token' });
  const logBefore = readFileSync(env.proxyLog, 'utf8').length;
  const done = new Promise<number>((resolve, reject) => {
    const req = http.request(`${d.url}/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.write(data.subarray(0, 2.5 * MiB));
    void waitFor('two segments in Swift', async () => (await listing(env, container, `${img.id}-`)).length >= 2)
      .then(() => flushTokens(env))
      .then(() => req.end(data.subarray(2.5 * MiB)), reject);
  });
  assert.is(await done, 204);
  assert.ok((await request(`${d.url}/v2/images/${img.id}`)).json.checksum === md5(data));
  await flushTokens(env);
  const g = await request(`${d.url}/v2/images/${img.id}/file`);
  assert.is(g.status, 200);
  assert.ok(g.body.equals(data));
  // the proxy log shows the refused segment PUT and the refused HEAD (so the retry paths really ran)
  const log = await waitFor('401s in the proxy log', async () => {
    const l = readFileSync(env.proxyLog, 'utf8').slice(logBefore);
    return /PUT \S+-0000[3-7] HTTP\/1\.[01] 401/.test(l) && new RegExp(`HEAD \\S+/${img.id} HTTP/1\\.[01] 401`).test(l) ? l : null;
  }, 5_000);
  assert.ok(log);
});

t('a download cut mid-body resumes with a Range from the byte reached (swift_store_retry_get_count)', async ({ env }) => {
  // daemon → cutting TCP relay → Swift; tempauth builds the storage URL from Host, so all traffic takes the relay
  const [proxyHost, proxyPort] = new URL(env.authUrl).host.split(':');
  const ranges: string[] = [];
  let armed = false;
  let sinceArm = 0;
  const relay = net.createServer((client) => {
    const up = net.connect(Number(proxyPort), proxyHost);
    client.on('data', (b) => {
      for (const m of b.toString('latin1').matchAll(/^range: *(.*)\r$/gim)) ranges.push(m[1]);
      up.write(b);
    });
    up.on('data', (b) => {
      if (armed) {
        sinceArm += b.length;
        if (sinceArm > 1.5 * MiB) {
          armed = false;
          client.write(b.subarray(0, 1000));
          client.destroy();
          up.destroy();
          return;
        }
      }
      client.write(b);
    });
    const close = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', close).on('close', close);
    up.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const authUrl = env.authUrl.replace(/:\d+\//, `:${(relay.address() as net.AddressInfo).port}/`);
  const d = await startTestDaemon({ tweak: (c) => withSwift(c, env, { container: `imaged-test-${rand()}`, authUrl, retries: 2 }) });
  try {
    await waitAvailable(d);
    const data = randomBytes(4 * MiB + 1);
    const img = await createImage(d.url, { name: 'swift-resume' });
    assert.is((await upload(d.url, img.id, data)).status, 204);
    armed = true;
    sinceArm = 0;
    ranges.length = 0;
    const g = await request(`${d.url}/v2/images/${img.id}/file`);
    assert.is(armed, false, 'the relay cut the download');
    assert.is(g.status, 200);
    assert.ok(g.body.equals(data), 'the resumed download is byte-identical');
    const resumedAt = ranges.map((r) => /^bytes=(\d+)-(\d+)$/.exec(r)).filter(Boolean).map((m) => Number(m![1]));
    assert.is(resumedAt.length, 1, `one resume: ${ranges.join(', ')}`);
    assert.ok(resumedAt[0] > MiB && resumedAt[0] < 2 * MiB, `resumed from the byte reached: ${resumedAt[0]}`);
  } finally {
    await d.stop();
    relay.close();
  }
});

t('swift+config:// locations through swift_store_config_file; existing Swift data registered by location', async ({ env }) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'imaged-swiftconf-'));
  const configFile = path.join(tmp, 'glance-swift.conf');
  writeFileSync(configFile, [
    '[ref1]', `user = ${env.user}`, 'key = not-the-key', `auth_address = ${env.authUrl}`, 'auth_version = 1', '',
    '[GlanceStore]', `user = ${env.user}`, `key = ${env.key}`, `auth_address = ${env.authUrl}`, 'auth_version = 1', '',
  ].join('\n'));
  const container = `imaged-test-${rand()}`;
  const d = await startTestDaemon({ tweak: (c) => withSwift(c, env, { container, configFile, reference: 'glancestore' }) });
  try {
    await waitAvailable(d);
    const data = randomBytes(2.5 * MiB);
    const img = await createImage(d.url, { name: 'swift-ref' });
    assert.is((await upload(d.url, img.id, data)).status, 204);
    const s = (await request(`${d.url}/v2/images/${img.id}`)).json;
    assert.is(s.direct_url, `swift+config://glancestore/${container}/${img.id}`);
    assert.not.match(JSON.stringify(s), `:${env.key}@`); // no credentials in the record
    assert.ok((await request(`${d.url}/v2/images/${img.id}/file`)).body.equals(data));

    // data put into Swift by someone else, registered by either location form
    const ext = randomBytes(MiB + 5);
    assert.is((await swift(env, 'PUT', `/${container}/external-object`, { 'Content-Length': ext.length }, ext)).status, 201);
    const forms = [
      `swift+config://glancestore/${container}/external-object`,
      `swift+http://${encodeURIComponent(env.user)}:${env.key}@${env.authUrl.replace(/^http:\/\//, '')}/${container}/external-object`,
    ];
    for (const url of forms) {
      const reg = await createImage(d.url, { name: 'swift-registered' });
      const r = await request(`${d.url}/v2/images/${reg.id}`, {
        method: 'PATCH', headers: { 'Content-Type': PATCH_TYPE },
        body: JSON.stringify([{ op: 'add', path: '/locations/-', value: { url, metadata: {}, validation_data: { checksum: md5(ext) } } }]),
      });
      assert.is(r.status, 200, r.body.toString());
      assert.is(r.json.status, 'active');
      assert.is(r.json.size, ext.length);
      assert.ok((await request(`${d.url}/v2/images/${reg.id}/file`)).body.equals(ext));
    }
    const missing = await createImage(d.url, { name: 'swift-missing' });
    const bad = await request(`${d.url}/v2/images/${missing.id}`, {
      method: 'PATCH', headers: { 'Content-Type': PATCH_TYPE },
      body: JSON.stringify([{ op: 'add', path: '/locations/-', value: { url: `swift+config://glancestore/${container}/nosuch`, metadata: {} } }]),
    });
    assert.is(bad.status, 400);
    const unknownRef = await request(`${d.url}/v2/images/${missing.id}`, {
      method: 'PATCH', headers: { 'Content-Type': PATCH_TYPE },
      body: JSON.stringify([{ op: 'add', path: '/locations/-', value: { url: `swift+config://otherref/${container}/x`, metadata: {} } }]),
    });
    assert.is(unknownRef.status, 400);
    assert.match(unknownRef.body.toString(), 'no enabled store can serve');
  } finally {
    await d.stop();
  }
});

t('Keystone v3 and v2 password auth (a stand-in Keystone that hands out tempauth tokens and a catalog)', async ({ env }) => {
  // Swift here only knows tempauth, so the stand-in logs in there and returns that token: what is tested is
  // imaged's side of Keystone (request bodies, X-Subject-Token, catalog choice by type/interface/region).
  const seen: any[] = [];
  const keystone = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', async () => {
      const body = JSON.parse(Buffer.concat(parts).toString() || '{}');
      seen.push({ url: req.url, body });
      const a = await request(env.authUrl, { headers: { 'X-Auth-User': env.user, 'X-Auth-Key': env.key } });
      const token = a.headers['x-auth-token'] as string;
      const storage = a.headers['x-storage-url'] as string;
      const wrong = 'http://127.0.0.1:1/v1/AUTH_wrong';
      if (req.url === '/v3/auth/tokens') {
        const pw = body.auth.identity.password.user;
        if (pw.name !== 'glance' || pw.password !== env.key || pw.domain.id !== 'default' || body.auth.scope.project.name !== 'glance') {
          res.writeHead(401).end();
          return;
        }
        res.writeHead(201, { 'Content-Type': 'application/json', 'X-Subject-Token': token });
        res.end(JSON.stringify({ token: { catalog: [
          { type: 'identity', endpoints: [{ interface: 'public', region: 'RegionOne', url: 'http://127.0.0.1:1/v3' }] },
          { type: 'object-store', endpoints: [
            { interface: 'internal', region: 'RegionOne', url: wrong },
            { interface: 'public', region: 'RegionTwo', url: wrong },
            { interface: 'public', region: 'RegionOne', region_id: 'RegionOne', url: storage },
          ] },
        ] } }));
      } else if (req.url === '/v2.0/tokens') {
        const c = body.auth.passwordCredentials;
        if (c.username !== 'glance' || c.password !== env.key || body.auth.tenantName !== 'glance') {
          res.writeHead(401).end();
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ access: { token: { id: token }, serviceCatalog: [
          { type: 'object-store', endpoints: [{ region: 'RegionTwo', publicURL: wrong }, { region: 'RegionOne', publicURL: storage, internalURL: wrong }] },
        ] } }));
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((r) => keystone.listen(0, '127.0.0.1', r));
  const port = (keystone.address() as net.AddressInfo).port;
  try {
    for (const [version, authUrl] of [['3', `http://127.0.0.1:${port}/v3`], ['2', `http://127.0.0.1:${port}/`]]) {
      seen.length = 0;
      const d = await startTestDaemon({ tweak: (c) => withSwift(c, env, { container: `imaged-test-${rand()}`, authUrl, authVersion: version, region: 'RegionOne' }) });
      try {
        await waitAvailable(d);
        const data = randomBytes(2.5 * MiB);
        const img = await createImage(d.url);
        assert.is((await upload(d.url, img.id, data)).status, 204, `v${version} upload`);
        assert.ok((await request(`${d.url}/v2/images/${img.id}/file`)).body.equals(data), `v${version} download`);
        assert.is(seen[0].url, version === '3' ? '/v3/auth/tokens' : '/v2.0/tokens');
      } finally {
        await d.stop();
      }
    }
    const bad = await startTestDaemon({ tweak: (c) => withSwift(c, env, { container: `imaged-test-${rand()}`, authUrl: `http://127.0.0.1:${port}/v3`, authVersion: '3', key: 'nope' }) });
    try {
      assert.match(await settledReason(bad), `cannot authenticate to Swift at http://127.0.0.1:${port}/v3 as glance:glance (auth version 3): the credentials were refused (HTTP 401)`);
    } finally {
      await bad.stop();
    }
  } finally {
    keystone.close();
  }
});

t('missing container without swift_store_create_container_on_put: 503 naming the option, image stays queued', async ({ env }) => {
  const d = await startTestDaemon({ tweak: (c) => withSwift(c, env, { container: `imaged-test-absent-${rand()}`, create: false }) });
  try {
    await waitAvailable(d);
    const img = await createImage(d.url);
    const r = await upload(d.url, img.id, Buffer.alloc(1000, 1));
    assert.is(r.status, 503);
    assert.match(r.body.toString(), 'swift_store_create_container_on_put');
    assert.is((await request(`${d.url}/v2/images/${img.id}`)).json.status, 'queued');
  } finally {
    await d.stop();
  }
});

t('wrong key: unavailable with a reason naming the auth URL and the user, never the key', async ({ env }) => {
  const key = `wrong-${rand()}`;
  const d = await startTestDaemon({ tweak: (c) => withSwift(c, env, { container: `imaged-test-${rand()}`, key }) });
  try {
    const why = await settledReason(d);
    assert.match(why, env.authUrl);
    assert.match(why, env.user);
    assert.match(why, 'credentials were refused');
    assert.not.match(why, key);
    const img = await createImage(d.url);
    assert.is((await upload(d.url, img.id, Buffer.alloc(10))).status, 503);
  } finally {
    await d.stop();
  }
});

t('Swift down at start: store unavailable, upload 503, recovers when Swift starts', async ({ env }) => {
  await swiftScript(env, 'stop-proxy');
  let d: TestDaemon | undefined;
  try {
    d = await startTestDaemon({ tweak: (c) => withSwift(c, env, { container: `imaged-test-${rand()}` }) });
    const why = await settledReason(d);
    assert.match(why, `cannot reach Swift at ${env.authUrl} as ${env.user}`);
    assert.not.match(why, env.key);
    const img = await createImage(d.url);
    const up = await upload(d.url, img.id, Buffer.alloc(1024, 1));
    assert.is(up.status, 503);
    assert.match(up.body.toString(), 'Store swift is not available');
    assert.is((await request(`${d.url}/v2/images/${img.id}`)).json.status, 'queued');
    assert.is((await upload(d.url, img.id, Buffer.alloc(1024, 1), { 'X-Image-Meta-Store': 'local' })).status, 204);
    await swiftScript(env, 'start');
    await waitAvailable(d, 30_000);
    const img2 = await createImage(d.url);
    const data = randomBytes(3 * MiB);
    assert.is((await upload(d.url, img2.id, data)).status, 204);
    assert.ok((await request(`${d.url}/v2/images/${img2.id}/file`)).body.equals(data));
  } finally {
    await d?.stop();
    await swiftScript(env, 'start');
  }
});

t.run();
