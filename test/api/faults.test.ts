import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, upload } from '../helpers/http.js';
import { waitUntil } from '../helpers/wait.js';

// Faults on the data path: a full disk, a delete racing an upload, clients vanishing mid-download.

const t = suite<{ d: TestDaemon; mnt: string }>('data path faults');
t.before(async (ctx) => {
  if (process.geteuid!() !== 0) throw new Error('the disk-full tests mount a small tmpfs and must run as root (CI does)');
  ctx.d = await startTestDaemon({
    tweak: (c) => {
      const mnt = path.join(c.imaged.stateDir, '..', 'small');
      mkdirSync(mnt, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
      c.stores[0].datadir = mnt;
      ctx.mnt = mnt;
    },
  });
});
t.after(async (ctx) => {
  await ctx.d?.stop(false);
  if (ctx.mnt) execFileSync('umount', [ctx.mnt]);
  if (ctx.d) rmSync(ctx.d.dir, { recursive: true, force: true });
});

const files = (d: TestDaemon) => readdirSync(d.config.stores[0].datadir!);
const status = async (d: TestDaemon, id: string) => (await request(`${d.url}/v2/images/${id}`)).json.status;

function chunkedUpload(url: string, total: number, chunk = 256 << 10): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', () => resolve(-1));
    const buf = randomBytes(chunk);
    let sent = 0;
    const pump = () => {
      while (sent < total && req.write(buf)) sent += chunk;
      if (sent < total) req.once('drain', pump);
      else req.end();
    };
    pump();
  });
}

t('store full: announced size → 413 up front; streamed past the space → 413, no partial file, image queued', async ({ d }) => {
  const img = await createImage(d.url);
  const r = await request(`${d.url}/v2/images/${img.id}/file`, {
    method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'x-openstack-image-size': 12 << 20, 'Content-Length': 0 },
  });
  assert.is(r.status, 400); // sizes disagree: announced 12 MiB, sent 0
  const code = await chunkedUpload(`${d.url}/v2/images/${img.id}/file`, 12 << 20);
  assert.is(code, 413);
  await new Promise((res) => setTimeout(res, 100));
  assert.is(await status(d, img.id), 'queued');
  assert.equal(files(d), []);
  // Space is back: a fitting upload works.
  assert.is((await upload(d.url, img.id, randomBytes(1 << 20))).status, 204);
  const big = await createImage(d.url);
  const up = await request(`${d.url}/v2/images/${big.id}/file`, {
    method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'x-openstack-image-size': 64 << 20, 'Content-Length': 64 << 20 },
  }).catch(() => ({ status: -1 }) as any);
  assert.is(up.status, 413);
});

t('delete during upload: upload fails, nothing is left behind', async ({ d }) => {
  const img = await createImage(d.url);
  const req = http.request(`${d.url}/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': 4 << 20 } });
  const done = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', () => resolve(-1));
  });
  req.write(Buffer.alloc(1 << 20, 3));
  // the rest never comes until after the delete, which must hit an upload in progress
  try {
    await waitUntil(async () => (await status(d, img.id)) === 'saving', 'the upload to be saving');
  } catch (e) {
    req.destroy();
    throw e;
  }
  assert.is((await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE' })).status, 204);
  req.end(Buffer.alloc(3 << 20, 3));
  const code = await done;
  assert.ok(code === 410 || code === -1, `upload answered ${code}`);
  await new Promise((r) => setTimeout(r, 100));
  assert.is((await request(`${d.url}/v2/images/${img.id}`)).status, 404);
  assert.not.ok(files(d).some((f) => f.includes(img.id)));
});

t('clients that vanish mid-download leak no file descriptors; other methods on /file → 405', async ({ d }) => {
  const img = await createImage(d.url);
  await upload(d.url, img.id, randomBytes(6 << 20));
  const fds = () => readdirSync('/proc/self/fd').length;
  // Warm up once so lazily opened handles don't count.
  await request(`${d.url}/v2/images/${img.id}/file`);
  const before = fds();
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve) => {
      const req = http.get(`${d.url}/v2/images/${img.id}/file`, (res) => res.once('data', () => { req.destroy(); resolve(); }));
      req.on('error', () => resolve());
    });
  }
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(fds() <= before + 2, `fds grew from ${before} to ${fds()}`);
  const g = await request(`${d.url}/v2/images/${img.id}/file`);
  assert.is(g.status, 200);
  assert.is(g.body.length, 6 << 20);
  assert.is((await request(`${d.url}/v2/images/${img.id}/file`, { method: 'POST' })).status, 405);
});

t.run();
