import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import http from 'node:http';
import path from 'node:path';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { startTestDaemon } from '../helpers/daemon.js';
import { request, createImage, upload } from '../helpers/http.js';
import { freePort, startImaged } from '../helpers/proc.js';

test('edge killed (-9) during a cache fill: restart removes the partial file, nothing partial is served, refill works', async () => {
  const up = await startTestDaemon();
  let fileGets = 0;
  up.daemon.server.on('request', (req: http.IncomingMessage) => {
    if (req.method === 'GET' && /\/file$/.test(req.url ?? '')) fileGets++;
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imaged-edge-crash-'));
  try {
    const data = randomBytes(192 << 20);
    const img = await createImage(up.url, { name: 'big' });
    await upload(up.url, img.id, data);
    const port = await freePort();
    const cacheDir = path.join(dir, 'cache');
    for (const d of ['images', 'state', 'cache']) mkdirSync(path.join(dir, d));
    const conf = path.join(dir, 'edge.conf');
    writeFileSync(conf, `[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${port}
image_cache_dir = ${cacheDir}
[glance_store]
default_backend = file
filesystem_store_datadir = ${dir}/images
[imaged]
state_dir = ${dir}/state
service_uid = ${process.geteuid!()}
service_gid = ${process.getegid!()}
upstream = ${up.url}
log_level = warn
`);
    const url = `http://127.0.0.1:${port}`;
    let edge = await startImaged(['--config-file', conf], url);
    await new Promise<void>((resolve) => {
      const req = http.get(`${url}/v2/images/${img.id}/file`, (res) => {
        res.once('data', () => {
          edge.child.kill('SIGKILL');
          resolve();
        });
        res.on('error', () => {});
      });
      req.on('error', () => resolve());
    });
    await edge.exited;
    const left = readdirSync(path.join(cacheDir, 'incomplete'));
    edge = await startImaged(['--config-file', conf], url);
    assert.equal(readdirSync(path.join(cacheDir, 'incomplete')), [], 'incomplete fills are removed at start');
    assert.not.ok(readdirSync(cacheDir).includes(img.id), `no partial file is kept as cached (left: ${left})`);
    const g = await request(`${url}/v2/images/${img.id}/file`);
    assert.is(g.status, 200);
    assert.ok(g.body.equals(data));
    assert.is(fileGets, 2, 'the killed fill and the refill');
    edge.child.kill('SIGTERM');
    await edge.exited;
  } finally {
    await up.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
