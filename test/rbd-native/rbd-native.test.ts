// librados/librbd addon (native/rbd.cc via src/native/rbd.ts) against a real
// cluster. Never skips: without a reachable cluster every test fails, saying
// how to provide one.
//
// Cluster: IMAGED_TEST_CEPH_CONF, IMAGED_TEST_CEPH_KEYRING,
// IMAGED_TEST_CEPH_USER (default glance), IMAGED_TEST_CEPH_POOL (default
// images), IMAGED_TEST_CEPH_ADMIN_KEYRING (for the `rbd clone` CLI call;
// default: ceph.client.admin.keyring next to the conf, else the conf's own
// keyring setting). Without IMAGED_TEST_CEPH_CONF, /tmp/imaged-ceph/env
// (CEPH_CONF, CEPH_USER, CEPH_GLANCE_KEYRING, CEPH_ADMIN_KEYRING, CEPH_POOL,
// CEPH_FSID), written by
// `test/env/ceph.sh start`, provides the defaults.
import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';

import {
  connect,
  isRbdError,
  rbdAioInflight,
  rbdAvailable,
  rbdUnavailableReason,
  type ConnectOptions,
  type RadosCluster,
  type RbdImage,
  type RbdPool,
} from '../../src/native/rbd.js';

const execFileP = promisify(execFile);
const MiB = 1 << 20;
const ENV_FILE = '/tmp/imaged-ceph/env';
const ADDON = fileURLToPath(new URL('../../build/Release/imaged_rbd.node', import.meta.url));

// ---------------------------------------------------------------- config

function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(file)) return out;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

// The env file is used only when IMAGED_TEST_CEPH_CONF is unset (never mixed with another cluster's conf).
const fileEnv = process.env.IMAGED_TEST_CEPH_CONF ? {} : readEnvFile(ENV_FILE);
const CONF = process.env.IMAGED_TEST_CEPH_CONF || fileEnv.CEPH_CONF || '';
const KEYRING = process.env.IMAGED_TEST_CEPH_KEYRING || fileEnv.CEPH_GLANCE_KEYRING || '';
const USER = process.env.IMAGED_TEST_CEPH_USER || fileEnv.CEPH_USER || 'glance';
const POOL = process.env.IMAGED_TEST_CEPH_POOL || fileEnv.CEPH_POOL || 'images';
const confText = CONF && fs.existsSync(CONF) ? fs.readFileSync(CONF, 'utf8') : '';
const FSID = fileEnv.CEPH_FSID || /^\s*fsid\s*=\s*(\S+)/m.exec(confText)?.[1] || '';
const ADMIN_KEYRING =
  process.env.IMAGED_TEST_CEPH_ADMIN_KEYRING ||
  fileEnv.CEPH_ADMIN_KEYRING ||
  (CONF && fs.existsSync(path.join(path.dirname(CONF), 'ceph.client.admin.keyring'))
    ? path.join(path.dirname(CONF), 'ceph.client.admin.keyring')
    : '');

const HOWTO =
  `set IMAGED_TEST_CEPH_CONF/IMAGED_TEST_CEPH_KEYRING (user ${USER}, pool ${POOL}) ` +
  `or start the test cluster with test/env/ceph.sh start (writes ${ENV_FILE})`;

function opts(extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { user: USER, confFile: CONF, keyring: KEYRING || undefined, connectTimeoutSec: 10, ...extra };
}

const PREFIX = `rbdnative-${process.pid}-${randomBytes(3).toString('hex')}`;
const IMG = `${PREFIX}-a`;
const CLONE = `${PREFIX}-clone`;
const SIZE = 32 * MiB;

// ---------------------------------------------------------------- shared state

let cluster: RadosCluster | undefined;
let pool: RbdPool | undefined;
let image: RbdImage | undefined;
let data: Buffer;

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`${what} is not available: an earlier test failed (${HOWTO})`);
  return v;
}

async function rejects(p: Promise<unknown>, codes: string | string[], re?: RegExp): Promise<Error> {
  const want = Array.isArray(codes) ? codes : [codes];
  try {
    await p;
  } catch (err) {
    assert.ok(isRbdError(err), `expected an RbdError, got ${String(err)}`);
    assert.ok(want.includes(err.code), `expected ${want.join('|')}, got ${err.code}: ${err.message}`);
    assert.type(err.errno, 'number');
    assert.ok(err.errno > 0, 'errno is positive');
    if (re) assert.match(err.message, re);
    return err;
  }
  assert.unreachable(`expected rejection with ${want.join('|')}, but it resolved`);
  throw new Error('unreachable');
}

function rbdCli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const a = ['-c', CONF, '--id', 'admin', '--client-mount-timeout', '10'];
  if (ADMIN_KEYRING) a.push('--keyring', ADMIN_KEYRING);
  return execFileP('rbd', [...a, ...args], { timeout: 30_000 });
}

/** Runs fn while a 10 ms interval ticks; returns fn's outcome plus the largest gap between ticks. */
async function whileTicking<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: unknown; maxGap: number; ticks: number; ms: number }> {
  let last = performance.now();
  let maxGap = 0;
  let ticks = 0;
  const iv = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 10);
  const t0 = performance.now();
  try {
    const result = await fn();
    return { result, maxGap, ticks, ms: performance.now() - t0 };
  } catch (error) {
    return { error, maxGap, ticks, ms: performance.now() - t0 };
  } finally {
    clearInterval(iv);
  }
}

/** A TCP port on 127.0.0.1 with nothing listening. */
async function deadPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

// ---------------------------------------------------------------- tests

// A hung cluster call must fail the run instead of hanging CI: the whole suite
// gets SUITE_LIMIT_MS (uvu has no per-test timeout; suites run one at a time).
const SUITE_LIMIT_MS = 150_000;
let watchdog: NodeJS.Timeout | undefined;

test('addon is available (librbd installed)', () => {
  watchdog = setTimeout(() => {
    console.error(`rbd-native: suite still running after ${SUITE_LIMIT_MS / 1000} s (current test: see above); aborting`);
    process.exit(1);
  }, SUITE_LIMIT_MS);
  watchdog.unref();
  assert.ok(rbdAvailable(), `imaged_rbd unavailable: ${rbdUnavailableReason()}`);
  assert.is(rbdUnavailableReason(), null);
});

test('connect + fsid', async () => {
  assert.ok(CONF && fs.existsSync(CONF), `no ceph.conf (${CONF || 'unset'}): ${HOWTO}`);
  try {
    cluster = await connect(opts());
  } catch (err) {
    throw new Error(`cannot connect to the test cluster (${(err as Error).message}): ${HOWTO}`);
  }
  const fsid = await cluster.fsid();
  assert.match(fsid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  if (FSID) assert.is(fsid, FSID);
  pool = await cluster.openPool(POOL);
  assert.is(pool.name, POOL);
  await rejects(cluster.openPool(`${PREFIX}-nopool`), 'ENOENT', /openPool\(.*\): rados_ioctx_create failed/);
});

test('create (order 23, layering) / list / open / stat', async () => {
  const p = need(pool, 'pool');
  await p.create(IMG, SIZE, { order: 23, features: 'layering' });
  await rejects(p.create(IMG, SIZE, { order: 23, features: 'layering' }), 'EEXIST', /rbd_create4/);
  assert.ok((await p.list()).includes(IMG), 'list() includes the new image');
  await rejects(p.open(`${PREFIX}-missing`), 'ENOENT', /open\(.*-missing\): rbd_open failed/);
  image = await p.open(IMG);
  assert.is(image.name, `${POOL}/${IMG}`);
  const st = await image.stat();
  assert.is(st.size, SIZE);
  assert.is(st.order, 23);
  assert.is(st.objSize, 8 * MiB);
});

test('32 MiB write with 8 aio writes in flight, concurrent read-back, flush, resize', async () => {
  const img = need(image, 'image');
  data = randomBytes(SIZE);
  const chunk = 4 * MiB;
  const writes: Promise<void>[] = [];
  for (let off = 0; off < SIZE; off += chunk) writes.push(img.write(off, data.subarray(off, off + chunk)));
  assert.is(writes.length, 8);
  assert.is(rbdAioInflight(), 8, '8 aio writes in flight at once');
  await Promise.all(writes);
  assert.is(rbdAioInflight(), 0);
  await img.flush();

  const back = Buffer.alloc(SIZE);
  const reads: Promise<number>[] = [];
  for (let off = 0; off < SIZE; off += chunk) reads.push(img.read(off, back.subarray(off, off + chunk)));
  assert.is(rbdAioInflight(), 8, '8 aio reads in flight at once');
  const n = await Promise.all(reads);
  assert.equal(n, new Array(8).fill(chunk));
  assert.ok(back.equals(data), 'data read back equals data written');

  // Many more in flight: 256 small writes at once, then read them back.
  const small = randomBytes(256 * 4096);
  const many = [];
  for (let k = 0; k < 256; k++) many.push(img.write(k * 4096, small.subarray(k * 4096, (k + 1) * 4096)));
  assert.is(rbdAioInflight(), 256);
  await Promise.all(many);
  const smallBack = Buffer.alloc(small.length);
  assert.is(await img.read(0, smallBack), small.length);
  assert.ok(smallBack.equals(small));
  small.copy(data, 0);

  // Short read at the end, EINVAL past it; writes past the end are refused.
  assert.is(await img.read(SIZE - 100, Buffer.alloc(4096)), 100);
  await rejects(img.read(SIZE + 4096, Buffer.alloc(10)), 'EINVAL', /read\(.*\): rbd_aio_read failed/);
  await rejects(img.write(SIZE - 100, Buffer.alloc(200)), 'EINVAL', /write past the end/);

  await img.resize(SIZE + 16 * MiB);
  assert.is((await img.stat()).size, SIZE + 16 * MiB);
  const tail = randomBytes(MiB);
  await img.write(SIZE + 8 * MiB, tail);
  await img.flush();
  const tailBack = Buffer.alloc(MiB);
  assert.is(await img.read(SIZE + 8 * MiB, tailBack), MiB);
  assert.ok(tailBack.equals(tail));
  const zeros = Buffer.alloc(MiB, 1);
  assert.is(await img.read(SIZE + MiB, zeros), MiB);
  assert.ok(zeros.equals(Buffer.alloc(MiB)), 'grown area reads as zeros');
  await img.resize(SIZE);
  assert.is((await img.stat()).size, SIZE);
});

test('snapshots: create / protect / list / isProtected', async () => {
  const img = need(image, 'image');
  await img.snapCreate('base');
  await rejects(img.snapCreate('base'), 'EEXIST', /snapCreate\(.*@base\): rbd_snap_create/);
  assert.is(await img.snapIsProtected('base'), false);
  await img.snapProtect('base');
  assert.is(await img.snapIsProtected('base'), true);
  await rejects(img.snapIsProtected('nosuch'), 'ENOENT');
  const snaps = await img.snapList();
  assert.is(snaps.length, 1);
  assert.is(snaps[0].name, 'base');
  assert.is(snaps[0].size, SIZE);
  assert.type(snaps[0].id, 'number');
  await rejects(img.snapRemove('base'), 'EBUSY', /rbd_snap_remove/);
  // Writes after the snapshot do not change it.
  await img.write(0, Buffer.alloc(4096, 0xee));
  await img.flush();
  const snapImg = await need(pool, 'pool').open(IMG, { snap: 'base' });
  assert.is(snapImg.name, `${POOL}/${IMG}@base`);
  const first = Buffer.alloc(4096);
  await snapImg.read(0, first);
  assert.ok(first.equals(data.subarray(0, 4096)), 'snapshot keeps the old data');
  await rejects(snapImg.write(0, Buffer.alloc(10)), ['EROFS', 'EPERM']);
  await snapImg.close();
});

test('clone via rbd CLI -> listChildren; remove/unprotect -> EBUSY; cleanup', async () => {
  const p = need(pool, 'pool');
  const img = need(image, 'image');
  await rbdCli(['clone', `${POOL}/${IMG}@base`, `${POOL}/${CLONE}`]);
  const kids = await img.listChildren('base');
  assert.equal(
    kids.map((k) => ({ pool: k.pool, image: k.image })),
    [{ pool: POOL, image: CLONE }],
  );
  assert.is(kids[0].trash, false);
  // the caller's handle still reads HEAD, not the snapshot
  const head = Buffer.alloc(16);
  await img.read(0, head);
  assert.ok(head.equals(Buffer.alloc(16, 0xee)));

  // The clone reads the parent's snapshot data through our API.
  const clone = await p.open(CLONE, { readOnly: true });
  const cb = Buffer.alloc(MiB);
  assert.is(await clone.read(MiB, cb), MiB);
  assert.ok(cb.equals(data.subarray(MiB, 2 * MiB)), 'clone shows the parent snapshot data');
  await clone.close();

  const e = await rejects(p.remove(IMG), 'EBUSY', /remove\(.*\): rbd_remove failed/);
  assert.is((e as { rbdCode?: string }).rbdCode, 'ENOTEMPTY');
  await rejects(img.snapUnprotect('base'), 'EBUSY', /snapUnprotect\(.*@base\): rbd_snap_unprotect failed/);

  await p.remove(CLONE);
  assert.equal(await img.listChildren('base'), []);
  await img.snapUnprotect('base');
  await img.snapRemove('base');
  assert.equal(await img.snapList(), []);
  // still open (a watcher): EBUSY, then gone after close
  await rejects(p.remove(IMG), 'EBUSY');
  await img.close();
  await p.remove(IMG);
  await rejects(p.remove(IMG), 'ENOENT');
  assert.not.ok((await p.list()).includes(IMG));
});

test('closed handles reject with EBADF; double close is harmless; close waits for aio', async () => {
  need(cluster, 'cluster');
  const c = await connect(opts());
  const p = await c.openPool(POOL);
  const name = `${PREFIX}-closed`;
  await p.create(name, 8 * MiB, { order: 22 });
  const img = await p.open(name);
  const buf = randomBytes(4 * MiB);
  const w = img.write(0, buf);
  const closed = img.close(); // waits for the write
  await rejects(img.read(0, Buffer.alloc(10)), 'EBADF', /read\(.*\): image handle is closed/);
  await w;
  await closed;
  await img.close();
  await rejects(img.stat(), 'EBADF');
  await rejects(img.write(0, Buffer.alloc(10)), 'EBADF');
  await rejects(img.flush(), 'EBADF');
  await rejects(img.snapList(), 'EBADF');

  // an image outlives its pool handle; cluster shutdown closes it
  const img2 = await p.open(name);
  await p.close();
  await p.close();
  await rejects(p.list(), 'EBADF', /list\(.*\): pool handle is closed/);
  await rejects(p.open(name), 'EBADF');
  const back = Buffer.alloc(4 * MiB);
  assert.is(await img2.read(0, back), 4 * MiB);
  assert.ok(back.equals(buf));
  const inflight = img2.read(0, Buffer.alloc(4 * MiB));
  await c.shutdown(); // waits for the read, closes img2
  assert.is(await inflight, 4 * MiB);
  await c.shutdown();
  await img2.close();
  await rejects(img2.read(0, Buffer.alloc(10)), 'EBADF');
  await rejects(c.fsid(), 'EBADF', /fsid\(.*\): cluster handle is closed/);
  await rejects(c.openPool(POOL), 'EBADF');

  // the watch is gone: the image can be removed at once
  await need(pool, 'pool').remove(name);
});

test('bad arguments throw TypeError/RangeError (as rejections)', async () => {
  const p = need(pool, 'pool');
  for (const [pr, type] of [
    [p.create('', 1, { order: 23 }), TypeError],
    [p.create('x', -1, { order: 23 }), RangeError],
    [p.create('x', 1, { order: 40 }), RangeError],
    [p.open(''), TypeError],
    [connect({ user: '' }), TypeError],
  ] as const) {
    try {
      await pr;
      assert.unreachable('should reject');
    } catch (err) {
      assert.instance(err, type);
    }
  }
});

test('wrong key / unknown user / missing keyring reject quickly with a clear error', async () => {
  need(cluster, 'cluster'); // the codes below need a reachable mon
  const dir = fs.mkdtempSync('/tmp/rbdnative-test-');
  try {
    const bad = path.join(dir, 'bad.keyring');
    // a well-formed keyring with a fresh random key for the right entity
    await execFileP('ceph-authtool', ['--create-keyring', bad, '--gen-key', '-n', `client.${USER}`]);
    for (const [o, codes] of [
      [opts({ keyring: bad, connectTimeoutSec: 5 }), ['EACCES', 'EPERM', 'ETIMEDOUT']],
      [opts({ user: `${PREFIX}-nouser`, connectTimeoutSec: 5 }), ['EACCES', 'EPERM', 'ENOENT', 'ETIMEDOUT']],
      // ENOENT with `auth client required = cephx`; with the default "cephx, none" the
      // client offers auth none instead and the mon refuses it (EACCES)
      [opts({ keyring: path.join(dir, 'missing.keyring'), connectTimeoutSec: 5 }), ['ENOENT', 'EACCES']],
      [opts({ confFile: path.join(dir, 'missing.conf'), connectTimeoutSec: 5 }), ['ENOENT']],
    ] as const) {
      const t0 = Date.now();
      await rejects(connect(o), [...codes], /^connect\(client\..*\): rados_\w+/);
      assert.ok(Date.now() - t0 < 6_000, `rejected within the connect timeout (${Date.now() - t0} ms)`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('no mon at the address: ETIMEDOUT after ~connectTimeoutSec, event loop keeps ticking', async () => {
  const port = await deadPort();
  const r = await whileTicking(() =>
    connect(opts({ connectTimeoutSec: 3, config: { mon_host: `v1:127.0.0.1:${port}` } })),
  );
  assert.ok(r.error, 'connect rejected');
  await rejects(Promise.reject(r.error), 'ETIMEDOUT', /connect\(client\..*\): rados_connect failed/);
  assert.ok(r.ms >= 2_500 && r.ms < 8_000, `rejected after ${Math.round(r.ms)} ms (timeout 3 s)`);
  assert.ok(r.ticks > 100, `interval ticked ${r.ticks} times in ${Math.round(r.ms)} ms`);
  assert.ok(r.maxGap < 250, `largest event-loop gap ${Math.round(r.maxGap)} ms`);
});

test('event loop stays responsive while 8 x 4 MiB aio ops are in flight', async () => {
  const p = need(pool, 'pool');
  const name = `${PREFIX}-loop`;
  await p.create(name, 32 * MiB, { order: 22, features: 'layering' });
  const img = await p.open(name);
  try {
    const buf = randomBytes(4 * MiB);
    const r = await whileTicking(async () => {
      for (let round = 0; round < 4; round++) {
        await Promise.all(Array.from({ length: 8 }, (_, k) => img.write(k * 4 * MiB, buf)));
      }
    });
    assert.is(r.error, undefined);
    assert.ok(r.maxGap < 250, `largest event-loop gap ${Math.round(r.maxGap)} ms`);
  } finally {
    await img.close();
    await p.remove(name);
  }
});

test('worker thread exit closes its cluster and images (env cleanup hook)', async () => {
  const p = need(pool, 'pool');
  const name = `${PREFIX}-worker`;
  await p.create(name, 4 * MiB, { order: 22 });
  // The worker opens the image (a watch on its header) and writes; on 'bye' it
  // starts one more write and is terminated at once, closing nothing. If
  // teardown did not rbd_close, the watch would keep rbd_remove at EBUSY for
  // ~30 s.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const b = require(workerData.addon);
    let img;
    parentPort.on('message', () => {
      b.imageWrite(img, 4096, Buffer.alloc(1 << 20, 2)); // in flight at teardown
      parentPort.postMessage('writing');
    });
    (async () => {
      const c = await b.connect(workerData.user, workerData.conf, workerData.keyring, 10, []);
      const p = await b.clusterOpenPool(c, workerData.pool);
      img = await b.poolOpen(p, workerData.name, null, false);
      await b.imageWrite(img, 0, Buffer.alloc(4096, 1));
      parentPort.postMessage('open');
    })().catch((e) => parentPort.postMessage('error: ' + e.message));
  `;
  const w = new Worker(code, {
    eval: true,
    workerData: { addon: ADDON, user: USER, conf: CONF, keyring: KEYRING || null, pool: POOL, name },
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  assert.is(await next(), 'open');
  await rejects(p.remove(name), 'EBUSY'); // the worker's handle is open (watch)
  w.postMessage('bye');
  assert.is(await next(), 'writing');
  const exited = new Promise<number>((r) => w.once('exit', r));
  await w.terminate();
  await exited;
  await p.remove(name);
});

test('cleanup', async () => {
  const p = need(pool, 'pool');
  const left = (await p.list()).filter((n) => n.startsWith(PREFIX));
  assert.equal(left, [], 'no test images left behind');
  await p.close();
  await need(cluster, 'cluster').shutdown();
});

/** Removes an image with all its snapshots (best effort). */
async function purge(p: RbdPool, name: string): Promise<void> {
  try {
    const img = await p.open(name);
    for (const snap of await img.snapList().catch(() => [])) {
      await img.snapUnprotect(snap.name).catch(() => {});
      await img.snapRemove(snap.name).catch(() => {});
    }
    await img.close();
  } catch {
    /* missing */
  }
  await p.remove(name).catch(() => {});
}

test.after(async () => {
  // Best effort if a test failed half-way.
  try {
    if (!cluster) return;
    const c = await connect(opts());
    const p = await c.openPool(POOL);
    for (const n of [CLONE, IMG, `${PREFIX}-closed`, `${PREFIX}-loop`, `${PREFIX}-worker`]) await purge(p, n);
    await c.shutdown();
    await cluster.shutdown();
  } catch {
    /* reported by the tests */
  } finally {
    clearTimeout(watchdog);
  }
});

test.run();
