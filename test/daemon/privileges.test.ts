// The switch from root to the service user, checked in child processes (the test runner stays root).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { willDropTo } from '../../src/daemon/privileges.js';
import { ROOT } from '../helpers/proc.js';

const t = suite('privileges: started as root, imaged becomes the service user');
const isRoot = process.geteuid!() === 0;
// a throwaway user with a supplementary group, removed after the suite (numeric ids far from the system's)
const USER = 'imaged-t-priv';
const EXTRA = 'imaged-t-extra';
const [UID, EXTRA_GID] = [42431, 42432];

const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });
let setupError = ''; // uvu would swallow an error thrown here: the test that needs the user reports it
t.before(() => {
  if (!isRoot) return;
  sh('userdel', [USER]);
  sh('groupdel', [EXTRA]);
  sh('groupdel', [USER]);
  const steps: Array<[string, string[]]> = [
    ['groupadd', ['-g', String(UID), USER]],
    ['groupadd', ['-g', String(EXTRA_GID), EXTRA]],
    ['useradd', ['-M', '-N', '-u', String(UID), '-g', String(UID), '-G', EXTRA, '-s', '/usr/sbin/nologin', USER]],
  ];
  for (const [cmd, args] of steps) {
    const r = sh(cmd, args);
    if (r.status !== 0) setupError ||= `${cmd} ${args.join(' ')}: ${r.stderr}`;
  }
});
t.after(() => {
  if (!isRoot) return;
  sh('userdel', [USER]);
  sh('groupdel', [EXTRA]);
  sh('groupdel', [USER]);
});

/** Runs dropPrivileges(ids) in a child started as root; returns its uid, gid and groups afterwards. */
function dropInChild(uid: number, gid: number): { uid: number; gid: number; groups: number[] } {
  const code = `import { dropPrivileges } from ${JSON.stringify(path.join(ROOT, 'src/daemon/privileges.ts'))};
dropPrivileges({ uid: ${uid}, gid: ${gid} });
console.log(JSON.stringify({ uid: process.geteuid(), gid: process.getegid(), groups: process.getgroups().sort((a, b) => a - b) }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

t('only root switches, and only to a non-root service uid', () => {
  assert.ok(willDropTo({ uid: 42424, gid: 42424 }, 0));
  assert.not.ok(willDropTo({ uid: 0, gid: 0 }, 0), 'service_uid = 0 keeps root');
  assert.not.ok(willDropTo({ uid: 42424, gid: 42424 }, 1000), 'a non-root start runs as itself');
});

t('a uid without a passwd entry: that uid and gid, and no other group (root\'s are gone)', () => {
  if (!isRoot) return;
  let free = 42440;
  while (sh('getent', ['passwd', String(free)]).status === 0) free++;
  assert.equal(dropInChild(free, free), { uid: free, gid: free, groups: [free] });
});

t('a service user with a passwd entry keeps its supplementary groups (e.g. glance, to read keyrings)', () => {
  if (!isRoot) return;
  assert.is(setupError, '');
  const got = dropInChild(UID, UID);
  assert.equal([got.uid, got.gid], [UID, UID]);
  assert.ok(got.groups.includes(EXTRA_GID), `groups ${got.groups}`);
  assert.not.ok(got.groups.includes(0));
});

t.run();
