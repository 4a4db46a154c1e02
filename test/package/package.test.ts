// The Debian package, end to end on this machine: build it (npm run package:deb), dpkg -i it, run
// the installed daemon exactly as the installed unit says (its ExecStart, User=, Group=; systemd is
// not PID 1 here, so setpriv does what systemd would), upload and download an image with curl,
// stop it, apt-get purge it, and look for anything left behind. Needs root, dpkg and apt: it
// fails, never skips, where it cannot do its job. Each step needs the previous one.
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, freePort, run, type RunResult } from '../helpers/proc.js';

const PKG = 'imaged';
const UNIT = '/lib/systemd/system/imaged.service';
const CONF_D = '/etc/imaged/imaged.conf.d';
// this test's own override: another port (9292 belongs to the rest of the suite), and a marker
// that an installed imaged package is this test's leftover and may be purged
const TEST_CONF = path.join(CONF_D, 'zz-package-test.conf');
const SERVICE_ID = 42424;
const APT_LOCK = ['-o', 'DPkg::Lock::Timeout=900'];
// what the package owns or its maintainer scripts create; none may survive the purge
const PACKAGE_PATHS = ['/usr/lib/imaged', '/usr/bin/imaged', UNIT, '/etc/imaged', '/var/lib/imaged', '/usr/share/doc/imaged',
  '/usr/share/man/man8/imaged.8.gz', '/usr/share/lintian/overrides/imaged', '/etc/systemd/system/multi-user.target.wants/imaged.service',
  '/var/lib/systemd/deb-systemd-helper-enabled/imaged.service.dsh-also',
  '/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/imaged.service',
  '/var/lib/systemd/deb-systemd-helper-masked/imaged.service'];

interface Ctx {
  tmp: string;
  deb?: string;
  installed: boolean;
  daemon?: ChildProcess;
  port?: number;
}

const t = suite<Ctx>('Debian package: build, dpkg -i, run as the unit does, purge');

const show = (r: RunResult) => `exit ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;

async function must(what: string, cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await run(cmd, args, { timeoutMs: 120_000, ...opts });
  if (r.code !== 0) throw new Error(`${what} failed (${cmd} ${args.join(' ')}): ${show(r)}`);
  return r;
}

/** dpkg's two-letter state ("ii" installed, "rc" config files left), or "" when it has no trace of the package. */
async function packageStatus(): Promise<string> {
  const r = await run('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', PKG]);
  const s = r.code === 0 ? r.stdout.trim() : '';
  return s[1] === 'n' ? '' : s; // "un"/"pn": known by name only, nothing on disk
}

/** dpkg has no lock timeout of its own: wait for another apt/dpkg run (the suite's, a neighbour's) like apt's DPkg::Lock::Timeout. */
async function dpkgInstall(deb: string): Promise<RunResult> {
  const until = Date.now() + 900_000;
  for (;;) {
    const r = await run('dpkg', ['-i', deb], { timeoutMs: 300_000 });
    if (r.code === 0 || !/lock/i.test(r.stderr) || Date.now() > until) return r;
    await new Promise((res) => setTimeout(res, 2000));
  }
}

async function purge(): Promise<RunResult> {
  return run('apt-get', ['purge', '-y', ...APT_LOCK, PKG], { timeoutMs: 960_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

async function stopDaemon(ctx: Ctx): Promise<number | null> {
  const d = ctx.daemon;
  if (!d) return null;
  ctx.daemon = undefined;
  if (d.exitCode !== null || d.signalCode !== null) return d.exitCode;
  const exited = new Promise<number | null>((res) => d.on('exit', (code) => res(code)));
  d.kill('SIGTERM');
  const timer = setTimeout(() => d.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

t.before((ctx) => {
  ctx.tmp = mkdtempSync(path.join(os.tmpdir(), 'imaged-package-'));
  ctx.installed = false;
});

t.after(async (ctx) => {
  await stopDaemon(ctx);
  // a failed step must not leave the package on the machine
  if (ctx.installed) {
    rmSync(TEST_CONF, { force: true });
    const r = await purge();
    if (r.code !== 0) process.stderr.write(`package test: cleanup purge failed: ${show(r)}\n`);
  }
  rmSync(ctx.tmp, { recursive: true, force: true });
});

t('prerequisites: root, dpkg, dpkg-dev, apt-get, setpriv, curl; no imaged package or /var/lib/imaged of someone else', async () => {
  assert.is(process.geteuid!(), 0, 'this test installs a package system-wide: run it as root (test/run does)');
  for (const tool of ['dpkg', 'dpkg-deb', 'dpkg-shlibdeps', 'dpkg-query', 'apt-get', 'setpriv', 'curl', 'getent']) {
    const r = await run('sh', ['-c', `command -v ${tool}`]);
    assert.is(r.code, 0, `${tool} is missing on this machine`);
  }
  const status = await packageStatus();
  if (status) {
    // our own leftover (a run killed before its purge) carries TEST_CONF; anything else is an operator's
    assert.ok(existsSync(TEST_CONF), `the package imaged is installed here (${status}) and not by this test: it would be purged; remove it first (apt-get purge imaged)`);
    const r = await purge();
    assert.is(r.code, 0, `purging this test's earlier leftover failed: ${show(r)}`);
  }
  assert.not.ok(existsSync('/var/lib/imaged'), '/var/lib/imaged exists without the package: the purge at the end would delete it; move it away first');
});

t('npm run package:deb builds the .deb into a temp dir without touching the work tree', async (ctx) => {
  const before = await must('git status', 'git', ['-C', ROOT, 'status', '--porcelain', '--ignored=no']);
  const started = Date.now();
  const r = await run('npm', ['run', '--silent', 'package:deb', '--', '--out', ctx.tmp], { cwd: ROOT, timeoutMs: 600_000 });
  assert.is(r.code, 0, `package:deb failed: ${show(r)}`);
  process.stderr.write(`  (package:deb took ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  const deb = r.stdout.trim().split('\n').pop()!;
  assert.ok(deb.startsWith(ctx.tmp) && deb.endsWith('.deb') && existsSync(deb), `package:deb printed no .deb in ${ctx.tmp}: ${show(r)}`);
  ctx.deb = deb;
  const after = await must('git status', 'git', ['-C', ROOT, 'status', '--porcelain', '--ignored=no']);
  assert.is(after.stdout, before.stdout, 'the work tree changed while package:deb ran (git status --porcelain before → after)');

  const files = (await must('dpkg-deb -c', 'dpkg-deb', ['-c', deb])).stdout;
  for (const f of ['./usr/lib/imaged/bin/imaged', './usr/lib/imaged/dist/cli/run.js', './usr/lib/imaged/package.json',
    './usr/lib/imaged/build/Release/imaged_native.node', './usr/lib/imaged/node_modules/hono/package.json',
    './usr/lib/imaged/node_modules/lmdb/package.json', './usr/bin/imaged', './lib/systemd/system/imaged.service',
    './etc/imaged/imaged.conf', './etc/imaged/imaged.conf.d/', './usr/share/doc/imaged/copyright',
    './usr/share/doc/imaged/examples/glance-api.conf', './usr/share/man/man8/imaged.8.gz']) {
    assert.ok(files.split('\n').some((l) => l.endsWith(` ${f}`) || l.includes(` ${f} -> `)), `${f} is not in the package`);
  }
  // build-only modules stay out; so do dev dependencies
  for (const f of ['node_modules/node-gyp/', 'node_modules/typescript/', 'node_modules/uvu/', 'node_modules/tsx/']) {
    assert.not.ok(files.includes(`/usr/lib/imaged/${f}`), `${f} should not be shipped`);
  }
  const fields = (await must('dpkg-deb -f', 'dpkg-deb', ['-f', deb, 'Package', 'Depends', 'Recommends'])).stdout;
  assert.match(fields, /^Package: imaged$/m);
  assert.match(fields, /^Depends: .*\bnodejs \(>= 20\)/m);
  assert.match(fields, /^Depends: .*\badduser\b/m);
  assert.not.match(fields.match(/^Depends: .*$/m)![0], /librbd|librados/, 'librbd/librados must not be hard dependencies');
  if (files.includes('imaged_rbd.node')) assert.match(fields, /^Recommends: .*librbd1.*$/m);
  const conffiles = (await must('dpkg-deb --info conffiles', 'dpkg-deb', ['--info', deb, 'conffiles'])).stdout;
  assert.is(conffiles.trim(), '/etc/imaged/imaged.conf');
});

t('dpkg -i installs it: account 42424, /var/lib/imaged 42424 0750, config readable by the group', async (ctx) => {
  assert.ok(ctx.deb, 'no package: the build step failed');
  const r = await dpkgInstall(ctx.deb!);
  ctx.installed = true; // even a half-configured package is purged in after()
  assert.is(r.code, 0, `dpkg -i failed: ${show(r)}`);
  writeFileSync(TEST_CONF, '# written by test/package/package.test.ts\n');
  assert.is(await packageStatus(), 'ii');

  const user = (await must('getent passwd', 'getent', ['passwd', String(SERVICE_ID)])).stdout.split(':');
  assert.is(user[0], 'imaged');
  assert.is(user[3], String(SERVICE_ID), 'primary group');
  assert.is(user[6].trim(), '/usr/sbin/nologin');
  const group = (await must('getent group', 'getent', ['group', String(SERVICE_ID)])).stdout.split(':');
  assert.is(group[0], 'imaged');
  for (const d of ['/var/lib/imaged', '/var/lib/imaged/images', '/var/lib/imaged/state']) {
    const st = statSync(d);
    assert.ok(st.isDirectory(), `${d} is not a directory`);
    assert.is(`${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`, `${SERVICE_ID}:${SERVICE_ID} 750`, d);
  }
  const conf = statSync('/etc/imaged/imaged.conf');
  assert.is(`${conf.uid}:${conf.gid} ${(conf.mode & 0o7777).toString(8)}`, `0:${SERVICE_ID} 640`, '/etc/imaged/imaged.conf');
  const help = await must('imaged --help', '/usr/bin/imaged', ['--help']);
  assert.match(help.stdout, /--config-file/);
  // every runtime dependency loads from the shipped tree (the build prunes node_modules)
  const buildOnly = ['node-gyp', 'node-addon-api'];
  const deps = Object.keys(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies).filter((d) => !buildOnly.includes(d));
  await must('importing the shipped modules', 'node', ['--input-type=module', '-e', `for (const m of ${JSON.stringify(deps)}) await import(m);`], { cwd: '/usr/lib/imaged' });
});

t("the unit's ExecStart, run as its User=/Group=, serves an upload and its download; SIGTERM stops it with 0", async (ctx) => {
  assert.ok(ctx.installed, 'not installed: an earlier step failed');
  const unit = readFileSync(UNIT, 'utf8');
  const key = (k: string) => {
    const m = unit.match(new RegExp(`^${k}=(.+)$`, 'm'));
    assert.ok(m, `${UNIT} has no ${k}=`);
    return m![1].trim();
  };
  const execStart = key('ExecStart');
  // systemd's prefixes and quoting are not needed by this unit; refuse rather than misread them
  assert.not.match(execStart, /^[-@:+!]|["'\\$%]/, `ExecStart uses syntax this test does not emulate: ${execStart}`);
  const argv = execStart.split(/\s+/);
  assert.is(argv[0], '/usr/lib/imaged/bin/imaged');
  assert.is(key('User'), String(SERVICE_ID));
  assert.is(key('Group'), String(SERVICE_ID));

  // the override directory the unit names is read after the file: move the port off 9292
  ctx.port = await freePort();
  writeFileSync(TEST_CONF, `# written by test/package/package.test.ts\n[DEFAULT]\nbind_port = ${ctx.port}\n`);
  const url = `http://127.0.0.1:${ctx.port}`;

  // what systemd does for User=/Group=: those ids, the user's supplementary groups, no new
  // privileges, cwd /, a minimal environment
  const child = spawn('setpriv', [`--reuid=${key('User')}`, `--regid=${key('Group')}`, '--init-groups', '--no-new-privs', '--', ...argv], {
    cwd: '/',
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/var/lib/imaged', USER: 'imaged', LOGNAME: 'imaged', LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  ctx.daemon = child;
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  let up = false;
  for (let i = 0; i < 300 && !up && child.exitCode === null; i++) {
    const r = await run('curl', ['-sf', '-o', '/dev/null', `${url}/healthcheck`], { timeoutMs: 5000 });
    up = r.code === 0;
    if (!up) await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(up, `the installed daemon did not answer on ${url} (exit ${child.exitCode}): ${out}`);
  const ps = await must('ps', 'ps', ['-o', 'uid=,gid=', '-p', String(child.pid)]);
  assert.is(ps.stdout.trim().split(/\s+/).join(':'), `${SERVICE_ID}:${SERVICE_ID}`, 'the daemon does not run as the unit says');

  const data = randomBytes(3 * 1024 * 1024 + 17);
  const src = path.join(ctx.tmp, 'image.raw');
  const dst = path.join(ctx.tmp, 'download.raw');
  writeFileSync(src, data);
  const created = await must('create image', 'curl', ['-sf', '-X', 'POST', '-H', 'Content-Type: application/json',
    '-d', '{"name":"package-test","disk_format":"raw","container_format":"bare"}', `${url}/v2/images`]);
  const id = JSON.parse(created.stdout).id as string;
  assert.ok(id, created.stdout);
  await must('upload', 'curl', ['-sf', '-X', 'PUT', '-H', 'Content-Type: application/octet-stream', '-T', src, `${url}/v2/images/${id}/file`]);
  const shown = JSON.parse((await must('show image', 'curl', ['-sf', `${url}/v2/images/${id}`])).stdout);
  assert.is(shown.status, 'active');
  assert.is(shown.size, data.length);
  await must('download', 'curl', ['-sf', '-o', dst, `${url}/v2/images/${id}/file`]);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  assert.is(sha(readFileSync(dst)), sha(data), 'downloaded bytes differ from the upload');

  // the installed defaults: the bytes in /var/lib/imaged/images, owned by the service uid
  const stored = statSync(path.join('/var/lib/imaged/images', id));
  assert.is(stored.size, data.length);
  assert.is(`${stored.uid}:${stored.gid}`, `${SERVICE_ID}:${SERVICE_ID}`);

  const code = await stopDaemon(ctx);
  assert.is(code, 0, `SIGTERM: exit ${code}: ${out}`);
});

t('apt-get purge removes everything but the account 42424 (kept, as adduser advises)', async (ctx) => {
  assert.ok(ctx.installed, 'not installed: an earlier step failed');
  // the operator's own file in the package's directory: dpkg would (rightly) keep it
  rmSync(TEST_CONF, { force: true });
  const r = await purge();
  assert.is(r.code, 0, `apt-get purge failed: ${show(r)}`);
  ctx.installed = false;
  assert.is(await packageStatus(), '', 'dpkg still has the package (config files left?)');
  const left = PACKAGE_PATHS.filter((p) => existsSync(p));
  assert.equal(left, [], `left behind: ${left.join(', ')}`);
  const found = await run('find', ['/etc', '/lib/systemd', '/usr/lib', '/usr/bin', '/usr/sbin', '/usr/share', '/var/lib', '-xdev', '-name', '*imaged*'], { timeoutMs: 120_000 });
  assert.is(found.stdout.trim(), '', 'files named after imaged are left behind');
  const user = await run('getent', ['passwd', String(SERVICE_ID)]);
  assert.is(user.code, 0, 'the account 42424 was removed: files it owns elsewhere (datadirs) would lose their owner');
});

t.run();
