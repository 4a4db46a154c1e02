import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startImaged } from '../helpers/proc.js';
import { waitUntil } from '../helpers/wait.js';
import { request } from '../helpers/http.js';

// SIGHUP (the unit's ExecReload) reads the policy files again; a file that does not load keeps the rules in force.

const t = suite<{ dir: string }>('reload: policy files on SIGHUP');
t.before((ctx) => {
  ctx.dir = mkdtempSync(path.join(os.tmpdir(), 'imaged-reload-'));
});
t.after((ctx) => rmSync(ctx.dir, { recursive: true, force: true }));

t('a new policy file takes over on SIGHUP; a broken one is refused and the rules in force stay', async ({ dir }) => {
  for (const d of ['images', 'state']) mkdirSync(path.join(dir, d));
  const policy = path.join(dir, 'policy.yaml');
  writeFileSync(policy, '{}\n');
  const port = await freePort();
  const conf = path.join(dir, 'imaged.conf');
  writeFileSync(conf, `[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${port}
[glance_store]
default_store = file
filesystem_store_datadir = ${path.join(dir, 'images')}/
[imaged]
state_dir = ${path.join(dir, 'state')}
service_uid = ${process.geteuid!()}
service_gid = ${process.getegid!()}
noauth_trust_headers = true
log_level = info
[oslo_policy]
policy_file = ${policy}
`);
  const url = `http://127.0.0.1:${port}`;
  const p = await startImaged(['--config-file', conf], url);
  const list = async () => (await request(`${url}/v2/images`, { headers: { 'X-Project-Id': 'p1', 'X-Roles': 'member,reader' } })).status;
  try {
    assert.is(await list(), 200);
    writeFileSync(policy, '"get_images": "role:admin"\n');
    p.child.kill('SIGHUP');
    await waitUntil(async () => (await list()) === 403, 'the new rule to apply after SIGHUP', 10_000, 100);
    writeFileSync(policy, '"get_images": "role:admin and ("\n');
    p.child.kill('SIGHUP');
    await waitUntil(async () => p.output().includes('reload refused'), `the refusal to be logged (output: ${p.output()})`, 10_000, 100);
    assert.match(p.output(), 'get_images');
    assert.is(await list(), 403, 'the rules in force stay');
    writeFileSync(policy, '{}\n');
    p.child.kill('SIGHUP');
    await waitUntil(async () => (await list()) === 200, 'the defaults again after SIGHUP', 10_000, 100);
    assert.is(p.child.exitCode, null, 'still running');
  } finally {
    p.child.kill('SIGTERM');
    await p.exited;
  }
});

t.run();
