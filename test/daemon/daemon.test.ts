import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { IMAGED, freePort, run, startImaged } from '../helpers/proc.js';
import { waitUntil } from '../helpers/wait.js';
import { spawn } from 'node:child_process';
import { createImage, request, upload } from '../helpers/http.js';

const t = suite<{ dir: string }>('the imaged executable: CLI, config files, restarts');
t.before((ctx) => {
  ctx.dir = mkdtempSync(path.join(os.tmpdir(), 'imaged-daemon-'));
});
t.after((ctx) => rmSync(ctx.dir, { recursive: true, force: true }));

const uid = process.geteuid!();

function writeConf(dir: string, name: string, port: number, extra = '') {
  const datadir = path.join(dir, 'images');
  const state = path.join(dir, 'state');
  mkdirSync(datadir, { recursive: true });
  mkdirSync(state, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, `[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${port}

[glance_store]
default_backend = file
filesystem_store_datadir = ${datadir}/

[imaged]
state_dir = ${state}
service_uid = ${uid}
service_gid = ${process.getegid!()}
log_level = warn
${extra}
`);
  return file;
}

t('--help names the oslo-style options', async () => {
  const r = await run(IMAGED, ['--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /--config-file/);
  assert.match(r.stdout, /--config-dir/);
  assert.match(r.stdout, /check-config/);
});

t('check-config: prints the effective config, exit 0; bad value → exit 1 naming the option', async ({ dir }) => {
  const d = path.join(dir, 'cc');
  mkdirSync(d);
  const f = writeConf(d, 'ok.conf', 9999);
  const ok = await run(IMAGED, ['check-config', '--config-file', f]);
  assert.is(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /bind_port = 9999/);
  const bad = path.join(d, 'bad.conf');
  writeFileSync(bad, '[DEFAULT]\nbind_port = lots\n');
  const r = await run(IMAGED, ['check-config', '--config-file', f, '--config-file', bad]);
  assert.is(r.code, 1);
  assert.match(r.stdout + r.stderr, /bind_port/);
});

t('missing datadir: refuses to start, names the path and the fix', async ({ dir }) => {
  const d = path.join(dir, 'nodir');
  mkdirSync(d);
  const f = writeConf(d, 'a.conf', await freePort());
  rmSync(path.join(d, 'images'), { recursive: true });
  const r = await run(IMAGED, ['--config-file', f], { timeoutMs: 20_000 });
  assert.is(r.code, 1);
  assert.match(r.stderr, new RegExp(path.join(d, 'images')));
  assert.match(r.stderr, /mkdir -p/);
});

t('override dir wins over the base file; data survives a restart; an interrupted upload is requeued after kill -9', async ({ dir }) => {
  const d = path.join(dir, 'life');
  mkdirSync(d);
  const port = await freePort();
  const base = writeConf(d, 'base.conf', 1); // port 1 would fail: the override must win
  const over = path.join(d, 'conf.d');
  mkdirSync(over);
  writeFileSync(path.join(over, '10-port.conf'), `[DEFAULT]\nbind_port = 2\n`);
  writeFileSync(path.join(over, '20-port.conf'), `[DEFAULT]\nbind_port = ${port}\n`);
  const url = `http://127.0.0.1:${port}`;
  const args = ['--config-file', base, '--config-dir', over];

  let p = await startImaged(args, url);
  const data = randomBytes(2 << 20);
  const img = await createImage(url, { name: 'keep-me' });
  assert.is((await upload(url, img.id, data)).status, 204);
  const pending = await createImage(url, { name: 'interrupted' });
  p.child.kill('SIGTERM');
  assert.is(await p.exited, 0);

  p = await startImaged(args, url);
  const s = (await request(`${url}/v2/images/${img.id}`)).json;
  assert.is(s.status, 'active');
  assert.is(s.checksum, createHash('md5').update(data).digest('hex'));
  const g = await request(`${url}/v2/images/${img.id}/file`);
  assert.ok(g.body.equals(data));

  // Start an upload, then kill -9 the daemon while it is saving.
  await new Promise<void>((resolve) => {
    const req = http.request(`${url}/v2/images/${pending.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': 50 << 20 } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(4 << 20, 1), async () => {
      for (let i = 0; i < 100; i++) {
        const st = (await request(`${url}/v2/images/${pending.id}`)).json.status;
        if (st === 'saving') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      p.child.kill('SIGKILL');
      resolve();
    });
  });
  await p.exited;
  p = await startImaged(args, url);
  assert.is((await request(`${url}/v2/images/${pending.id}`)).json.status, 'queued');
  assert.equal(readdirSync(path.join(d, 'images')).filter((n) => n.startsWith('.')), []);
  assert.is((await upload(url, pending.id, Buffer.from('now complete'))).status, 204);
  p.child.kill('SIGTERM');
  await p.exited;
});

t('[imaged] send_threads sets how many threads send downloads (0: the event loop)', async ({ dir }) => {
  const senders = (pid: number) =>
    readdirSync(`/proc/${pid}/task`).filter((tid) => {
      try {
        return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === 'imaged-send';
      } catch {
        return false;
      }
    }).length;
  for (const n of [1, 3, 0]) {
    const d = path.join(dir, `send-${n}`);
    mkdirSync(d);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const p = await startImaged(['--config-file', writeConf(d, 'imaged.conf', port, `send_threads = ${n}`)], url);
    try {
      const data = randomBytes(3 << 20);
      const img = await createImage(url);
      assert.is((await upload(url, img.id, data)).status, 204);
      const got = await Promise.all([1, 2, 3, 4].map(() => request(`${url}/v2/images/${img.id}/file`)));
      for (const g of got) assert.ok(g.body.equals(data));
      assert.is(senders(p.child.pid!), n, `send_threads = ${n}`);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }
});

t('no config: runs on the embedded default under ./var', async ({ dir }) => {
  const d = path.join(dir, 'embedded');
  mkdirSync(d);
  // The embedded default listens on 9292; only check that check-config accepts it and names var/.
  const r = await run(IMAGED, ['check-config'], { cwd: d });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(path.join(d, 'var')));
  const datadir = /^filesystem_store_datadir\s*=\s*(\S+)/m.exec(r.stdout)?.[1];
  assert.ok(datadir, r.stdout);

  // Then really start it. It binds 0.0.0.0:9292, so it gets a network namespace of its own (root, as the
  // suite runs) where that port is free whatever else runs on this host; curl joins it with nsenter.
  const child = spawn('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$0"', IMAGED], { cwd: d, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const curl = (args: string[], input?: string) =>
    run('nsenter', ['--target', String(child.pid), '--net', 'curl', '-sS', '--max-time', '10', ...args], { input });
  try {
    await waitUntil(async () => (await curl(['-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:9292/healthcheck'])).stdout === '200', `imaged on the embedded default to answer (output: ${out})`, 20_000, 100);
    const created = await curl(['-X', 'POST', '-H', 'Content-Type: application/json', '-H', 'X-Roles: admin,member,reader',
      '--data-binary', '{"name":"embedded","disk_format":"raw","container_format":"bare"}', 'http://127.0.0.1:9292/v2/images']);
    const id = JSON.parse(created.stdout).id;
    assert.ok(id, created.stdout + created.stderr);
    const put = await curl(['-X', 'PUT', '-H', 'Content-Type: application/octet-stream', '-H', 'X-Roles: admin,member,reader', '--data-binary', '@-',
      '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:9292/v2/images/${id}/file`], 'hello from the embedded default');
    assert.is(put.stdout, '204', put.stderr);
    const got = await curl(['-H', 'X-Roles: admin,member,reader', `http://127.0.0.1:9292/v2/images/${id}/file`]);
    assert.is(got.stdout, 'hello from the embedded default');
    assert.is(readFileSync(path.join(datadir!, id), 'utf8'), 'hello from the embedded default');
  } finally {
    child.kill('SIGTERM');
  }
  assert.is(await exited, 0, out);
});

t.run();
