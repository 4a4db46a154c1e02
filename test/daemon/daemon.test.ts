import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { chmodSync, chownSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { IMAGED, ROOT, freePort, run, startImaged } from '../helpers/proc.js';
import { waitUntil } from '../helpers/wait.js';
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

t('no config: check-config accepts the embedded default, names ./var and creates nothing', async ({ dir }) => {
  const d = path.join(dir, 'embedded');
  mkdirSync(d);
  // check-config accepts the embedded default, names var/ and creates nothing
  const r = await run(IMAGED, ['check-config'], { cwd: d });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, `filesystem_store_datadir = ${path.join(d, 'var/images')}\n`);
  assert.match(r.stdout, `state_dir = ${path.join(d, 'var/state')}\n`);
  assert.equal(readdirSync(d), [], 'a diagnostic creates nothing');
  const datadir = /^filesystem_store_datadir\s*=\s*(\S+)/m.exec(r.stdout)?.[1];
  assert.ok(datadir, r.stdout);

  // Then really start it. It listens on 127.0.0.1:9292, so it gets a network namespace of its own (root, as
  // the suite runs) where that port is free whatever else runs on this host; curl joins it with nsenter.
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

/** A free port below 1024 on loopback. */
async function freePrivilegedPort(): Promise<number> {
  for (let port = 1000; port > 900; port--) {
    const s = net.createServer();
    const ok = await new Promise<boolean>((r) => {
      s.once('error', () => r(false));
      s.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise((r) => s.close(r));
      return port;
    }
  }
  throw new Error('no free port in 901-1000');
}

t('started as root with service_uid 42424: binds, then runs as 42424; all it writes is 42424\'s', async ({ dir }) => {
  if (uid !== 0) return;
  const SVC = 42424; // numeric: no user is created
  const d = path.join(dir, 'drop');
  mkdirSync(d, { mode: 0o755 });
  chmodSync(dir, 0o755);
  const port = await freePrivilegedPort(); // below 1024: only root may bind it, so the bind came before the switch
  const f = writeConf(d, 'a.conf', port);
  writeFileSync(f, readFileSync(f, 'utf8').replace(`service_uid = ${uid}`, `service_uid = ${SVC}`).replace(/service_gid = \d+/, `service_gid = ${SVC}`));
  for (const p of ['images', 'state']) chownSync(path.join(d, p), SVC, SVC);
  const url = `http://127.0.0.1:${port}`;
  const p = await startImaged(['--config-file', f], url);
  try {
    const status = readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${SVC}\\s+${SVC}\\s+${SVC}\\s+${SVC}$`, 'm'));
    assert.match(status, new RegExp(`^Gid:\\s+${SVC}\\s+${SVC}\\s+${SVC}\\s+${SVC}$`, 'm'));
    const groups = /^Groups:(.*)$/m.exec(status)![1].trim().split(/\s+/).map(Number);
    assert.ok(groups.includes(SVC) && !groups.includes(0), `groups ${groups}: root's are dropped`); // more if 42424 has a passwd entry
    const img = await createImage(url, { name: 'as-42424' });
    assert.is((await upload(url, img.id, randomBytes(1 << 20))).status, 204);
  } finally {
    p.child.kill('SIGTERM');
    assert.is(await p.exited, 0);
  }
  const walk = (x: string): string[] => [x, ...(statSync(x).isDirectory() ? readdirSync(x).flatMap((n) => walk(path.join(x, n))) : [])];
  const files = [...walk(path.join(d, 'images')), ...walk(path.join(d, 'state'))];
  assert.ok(files.length >= 5, files.join(' '));
  for (const x of files) assert.equal([statSync(x).uid, statSync(x).gid], [SVC, SVC], x);
  const again = await run(IMAGED, ['check-config', '--config-file', f]);
  assert.is(again.code, 0, again.stdout);
});

/** One line on stderr, starting "imaged: ", and no stack frame. */
function oneLine(r: { stderr: string }): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.is(lines.length, 1, r.stderr);
  assert.not.match(r.stderr, /^\s+at /m);
  return lines[0];
}

t('--version prints the package version', async () => {
  const r = await run(IMAGED, ['--version']);
  assert.is(r.code, 0);
  assert.is(r.stdout, `${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}\n`);
});

t('port in use: one line naming the address and bind_host/bind_port, exit 1, no stack trace', async ({ dir }) => {
  const d = path.join(dir, 'inuse');
  mkdirSync(d);
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = await run(IMAGED, ['--config-file', writeConf(d, 'a.conf', port)], { timeoutMs: 20_000 });
    assert.is(r.code, 1);
    assert.is(oneLine(r), `imaged: cannot listen on 127.0.0.1:${port} ([DEFAULT] bind_host / bind_port): the address is already in use (another imaged or glance-api?)`);
  } finally {
    blocker.close();
  }
});

t('a start-up failure after the checks (catalog cannot be opened) is one line naming state_dir', async ({ dir }) => {
  const d = path.join(dir, 'badcat');
  mkdirSync(d);
  const f = writeConf(d, 'a.conf', await freePort());
  writeFileSync(path.join(d, 'state', 'catalog'), 'not a directory');
  const r = await run(IMAGED, ['--config-file', f], { timeoutMs: 20_000 });
  assert.is(r.code, 1);
  assert.match(oneLine(r), `imaged: cannot open the catalog in [imaged] state_dir ${path.join(d, 'state')}: `);
});

t('--config-file and --config-dir apply in command-line order (oslo.config): --config-dir D --config-file F lets F win', async ({ dir }) => {
  const d = path.join(dir, 'order');
  mkdirSync(d);
  const base = writeConf(d, 'base.conf', 4001);
  const over = path.join(d, 'conf.d');
  mkdirSync(over);
  writeFileSync(path.join(over, 'x.conf'), '[DEFAULT]\nbind_port = 4002\n');
  const dirFirst = await run(IMAGED, ['check-config', '--config-dir', over, '--config-file', base]);
  assert.is(dirFirst.code, 0, dirFirst.stdout);
  assert.match(dirFirst.stdout, /^bind_port = 4001$/m);
  assert.match(dirFirst.stdout, `# sources (later wins): ${path.join(over, 'x.conf')}, ${base}`);
  const fileFirst = await run(IMAGED, ['check-config', '--config-file', base, '--config-dir', over]);
  assert.match(fileFirst.stdout, /^bind_port = 4002$/m);
});

t('a missing --config-dir is a warning: check-config says so (exit 1), the daemon starts', async ({ dir }) => {
  const d = path.join(dir, 'nooverride');
  mkdirSync(d);
  const port = await freePort();
  const args = ['--config-file', writeConf(d, 'a.conf', port), '--config-dir', path.join(d, 'absent.d')];
  const c = await run(IMAGED, ['check-config', ...args]);
  assert.is(c.code, 1);
  assert.match(c.stdout, `warning: --config-dir: config dir ${path.join(d, 'absent.d')} does not exist; skipped\n1 problem(s)\n`);
  const p = await startImaged(args, `http://127.0.0.1:${port}`);
  p.child.kill('SIGTERM');
  assert.is(await p.exited, 0);
  assert.match(p.output(), 'does not exist; skipped');
});

/** Starts a download of `size` bytes and stops reading it after the first chunk. */
function stalledDownload(url: string): Promise<{ res: http.IncomingMessage; received: () => number; done: Promise<'complete' | 'cut'> }> {
  return new Promise((resolve, reject) => {
    // keep-alive: once its answer is done, the connection is idle and the draining server must close it
    http.get(url, { agent: new http.Agent({ keepAlive: true }) }, (res) => {
      let n = 0;
      res.pause();
      const done = new Promise<'complete' | 'cut'>((r) => {
        res.on('data', (c) => (n += c.length));
        res.on('end', () => r('complete'));
        res.on('aborted', () => r('cut'));
        res.on('error', () => r('cut'));
        res.socket.on('close', () => setImmediate(() => r(n === Number(res.headers['content-length']) ? 'complete' : 'cut')));
      });
      resolve({ res, received: () => n, done });
    }).on('error', reject);
  });
}

/** A keep-alive connection that has done one request and sits idle; resolves `closed` when the server closes it. */
async function idleKeepAlive(url: string): Promise<{ closed: Promise<number> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const r = await request(`${url}/versions`, { agent });
  assert.is(r.status, 300);
  const sock = (agent as any).freeSockets[Object.keys((agent as any).freeSockets)[0]][0] as net.Socket;
  return { closed: new Promise((res) => sock.on('close', () => res(Date.now()))) };
}

t('SIGTERM: idle keep-alive connections close at once, a download in flight finishes, then exit 0', async ({ dir }) => {
  const d = path.join(dir, 'drain');
  mkdirSync(d);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const p = await startImaged(['--config-file', writeConf(d, 'a.conf', port)], url);
  const data = randomBytes(64 << 20); // well beyond what socket buffers hold
  const img = await createImage(url);
  assert.is((await upload(url, img.id, data)).status, 204);
  const dl = await stalledDownload(`${url}/v2/images/${img.id}/file`);
  const idle = await idleKeepAlive(url);
  await new Promise((r) => setTimeout(r, 200));
  const sent = Date.now();
  p.child.kill('SIGTERM');
  const closedAt = await idle.closed;
  assert.ok(closedAt - sent < 1000, `idle connection closed after ${closedAt - sent} ms`);
  await new Promise((r) => setTimeout(r, 1500)); // longer than a drain that did not wait would take
  assert.is(p.child.exitCode, null, 'still draining the download');
  dl.res.resume();
  assert.is(await dl.done, 'complete');
  const finished = Date.now();
  assert.is(dl.received(), data.length);
  assert.is(await p.exited, 0);
  assert.ok(Date.now() - finished < 2000, `exit ${Date.now() - finished} ms after the last answer (its keep-alive connection is closed, not waited for)`);
});

t('SIGTERM: [imaged] drain_timeout cuts a stalled transfer, exit 0; a second SIGTERM exits at once', async ({ dir }) => {
  const d = path.join(dir, 'drain2');
  mkdirSync(d);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let p = await startImaged(['--config-file', writeConf(d, 'a.conf', port, 'drain_timeout = 1')], url);
  const img = await createImage(url);
  assert.is((await upload(url, img.id, randomBytes(64 << 20))).status, 204);
  let dl = await stalledDownload(`${url}/v2/images/${img.id}/file`);
  await new Promise((r) => setTimeout(r, 200));
  let sent = Date.now();
  p.child.kill('SIGTERM');
  assert.is(await p.exited, 0);
  const took = Date.now() - sent;
  assert.ok(took >= 900 && took < 5000, `exited after ${took} ms with drain_timeout = 1`);
  dl.res.resume();
  assert.is(await dl.done, 'cut');

  writeConf(d, 'a.conf', port); // default drain_timeout (25 s)
  p = await startImaged(['--config-file', path.join(d, 'a.conf')], url);
  dl = await stalledDownload(`${url}/v2/images/${img.id}/file`);
  await new Promise((r) => setTimeout(r, 200));
  p.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  assert.is(p.child.exitCode, null, 'draining');
  sent = Date.now();
  p.child.kill('SIGTERM');
  assert.is(await p.exited, 1);
  assert.ok(Date.now() - sent < 2000, 'the second signal forces the exit');
  dl.res.resume();
  assert.is(await dl.done, 'cut');
});

t.run();
