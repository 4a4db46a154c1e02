import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { request, createImage, upload, jsonHeaders } from '../helpers/http.js';
import { freePort, startImaged } from '../helpers/proc.js';

test('copy-image interrupted by kill -9: after restart the image is consistent and a retry succeeds', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imaged-import-crash-'));
  try {
    for (const d of ['fast', 'slow', 'state']) mkdirSync(path.join(dir, d));
    const port = await freePort();
    const conf = path.join(dir, 'imaged.conf');
    writeFileSync(conf, `[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${port}
enabled_backends = fast:file, slow:file
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = ${dir}/fast
[slow]
filesystem_store_datadir = ${dir}/slow
[imaged]
state_dir = ${dir}/state
service_uid = ${process.geteuid!()}
service_gid = ${process.getegid!()}
log_level = warn
`);
    const url = `http://127.0.0.1:${port}`;
    let p = await startImaged(['--config-file', conf], url);
    const data = randomBytes(256 << 20);
    const img = await createImage(url, { name: 'copied' });
    assert.is((await upload(url, img.id, data)).status, 204);
    const r = await request(`${url}/v2/images/${img.id}/import`, { method: 'POST', headers: jsonHeaders(), body: JSON.stringify({ method: { name: 'copy-image' }, stores: ['slow'] }) });
    assert.is(r.status, 202);
    for (let i = 0; i < 200; i++) {
      if (readdirSync(path.join(dir, 'slow')).length > 0) break;
      await new Promise((res) => setTimeout(res, 5));
    }
    p.child.kill('SIGKILL');
    await p.exited;
    p = await startImaged(['--config-file', conf], url);
    const after = (await request(`${url}/v2/images/${img.id}`)).json;
    assert.is(after.status, 'active');
    assert.is(after.stores, 'fast');
    assert.not.ok(after.os_glance_import_task, 'the stale lock is gone');
    assert.equal(readdirSync(path.join(dir, 'slow')), [], 'no partial copy is left');
    const retry = await request(`${url}/v2/images/${img.id}/import`, { method: 'POST', headers: jsonHeaders(), body: JSON.stringify({ method: { name: 'copy-image' }, stores: ['slow'] }) });
    assert.is(retry.status, 202);
    let done: any;
    for (let i = 0; i < 400; i++) {
      done = (await request(`${url}/v2/images/${img.id}`)).json;
      if (done.stores === 'fast,slow' && !done.os_glance_importing_to_stores) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.is(done.stores, 'fast,slow');
    const md5 = createHash('md5').update(readFileSync(path.join(dir, 'slow', img.id))).digest('hex');
    assert.is(md5, createHash('md5').update(data).digest('hex'));
    p.child.kill('SIGTERM');
    await p.exited;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
