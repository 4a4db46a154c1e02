import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import type { RequestContext } from '../../src/auth/context.js';
import { Enforcer, PolicyFileError, type PolicyOptions } from '../../src/auth/enforcer.js';
import type { RuleDefault } from '../../src/auth/glance-defaults.js';
import { checkPolicyFiles, formatEffectiveConfig, loadConfig, type Config } from '../../src/config/index.js';
import { IMAGED, run } from '../helpers/proc.js';
import { errors, find, loadText, tmpDir } from './helpers.js';

// [oslo_policy] in the config, and the policy files it points at: where they are found, how they override
// Glance's defaults and each other, and how an unusable one is reported (file, line, policy name).

const member: RequestContext = { projectId: 'p1', userId: 'u1', roles: ['member', 'reader'], isAdmin: false, requestId: 'r' };
const admin: RequestContext = { ...member, roles: ['admin'] };
const ownImage = { project_id: 'p1', owner: 'p1', member_id: null, visibility: 'private' };

/** Writes files (name → text) into a fresh directory; a name ending in "/" makes a directory. */
function tree(files: Record<string, string>): string {
  const dir = tmpDir();
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(dir, name);
    if (name.endsWith('/')) fs.mkdirSync(p, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, text);
    }
  }
  return dir;
}

const opts = (dir: string, over: Partial<PolicyOptions> = {}): PolicyOptions => ({
  policyFile: null, policyDirs: ['policy.d'], enforceNewDefaults: true, enforceScope: false, configDirs: [dir], ...over,
});

function loadError(o: PolicyOptions): PolicyFileError {
  try {
    Enforcer.load(o);
  } catch (err) {
    if (err instanceof PolicyFileError) return err;
    throw err;
  }
  throw new Error('loaded');
}

test('config: oslo.policy\'s defaults in Zed, the search path of oslo.config, enforce_secure_rbac as glance-api insists', () => {
  const r = loadText('[DEFAULT]\n');
  const p = r.config!.policy;
  assert.is(p.policyFile, 'policy.yaml');
  assert.equal(p.policyDirs, ['policy.d']);
  assert.is(p.enforceNewDefaults, false);
  assert.is(p.enforceScope, false);
  assert.is(p.enforceSecureRbac, false);
  const home = process.env.HOME || os.homedir();
  assert.equal(p.configDirs.slice(1), [path.join(home, '.glance'), home, '/etc/glance', '/etc']);

  const dir = tree({ 'a/x.conf': '[DEFAULT]\n', 'b/y.conf': '[oslo_policy]\npolicy_file = /srv/p.yaml\npolicy_dirs = extra.d\n', 'd/': '' });
  const c = loadConfig({ configFiles: [path.join(dir, 'a/x.conf'), path.join(dir, 'b/y.conf')], configDirs: [path.join(dir, 'd')] }).config!;
  // --config-dir first, then the files' directories, the last file first
  assert.equal(c.policy.configDirs.slice(0, 3), [path.join(dir, 'd'), path.join(dir, 'b'), path.join(dir, 'a')]);
  assert.is(c.policy.policyFile, '/srv/p.yaml');
  assert.equal(c.policy.policyDirs, ['extra.d']);

  const mismatch = loadText('[oslo_policy]\nenforce_new_defaults = true\n');
  assert.equal(errors(mismatch).map((e) => e.option), ['DEFAULT.enforce_secure_rbac']);
  assert.match(find(mismatch, 'DEFAULT.enforce_secure_rbac')!.message, /set both to true/);
  const both = loadText('[DEFAULT]\nenforce_secure_rbac = true\n[oslo_policy]\nenforce_new_defaults = true\nenforce_scope = yes\n');
  assert.equal(errors(both), []);
  assert.equal(
    [both.config!.policy.enforceNewDefaults, both.config!.policy.enforceScope, both.config!.policy.enforceSecureRbac],
    [true, true, true],
  );
  assert.equal(errors(loadText('[oslo_policy]\nenforce_scope = maybe\n')).map((e) => e.option), ['oslo_policy.enforce_scope']);
  const text = formatEffectiveConfig(both.config!);
  assert.match(text, '[oslo_policy]\npolicy_file = policy.yaml\npolicy_dirs = policy.d\nenforce_new_defaults = true\nenforce_scope = true\n');
  assert.match(text, 'enforce_secure_rbac = true\n');
});

test('policy_file next to the config file overrides single rules; the rest keep the defaults', () => {
  const dir = tree({ 'policy.yaml': '# operator overrides\n"get_image": "role:admin"\n"my_rule": "role:member"\n' });
  const e = Enforcer.load(opts(dir));
  assert.not.ok(e.check(member, 'get_image', ownImage));
  assert.ok(e.check(admin, 'get_image', ownImage));
  assert.ok(e.check(member, 'modify_image', ownImage), 'not overridden: the default');
  assert.equal(e.files, [path.join(dir, 'policy.yaml')]);
  // an override is used as written, without the legacy default or'ed in
  const legacy = Enforcer.load(opts(dir, { enforceNewDefaults: false }));
  assert.is(legacy.ruleInForce('get_image'), 'role:admin');
  assert.match(legacy.ruleInForce('modify_image')!, / or rule:default\)$/);
  // oslopolicy-policy-generator's listing: the file's rules first
  assert.match(e.effectiveYaml(), /^"get_image": "role:admin"\n"my_rule": "role:member"\n"default": ""\n"context_is_admin": "role:admin"\n/);
});

test('no policy file: the defaults only; a missing file named explicitly is a warning', () => {
  const dir = tree({ 'other.yaml': '' });
  const r = Enforcer.inspect(opts(dir));
  assert.equal(r.problems, []);
  assert.equal(r.files, []);
  assert.ok(r.enforcer!.check(member, 'get_image', ownImage));
  const missing = Enforcer.inspect(opts(dir, { policyFile: 'nope.yaml' }));
  assert.ok(missing.enforcer);
  assert.equal(missing.problems.map((p) => [p.level, p.file]), [['warning', 'nope.yaml']]);
  // absolute names are taken as they are
  const abs = tree({ 'p.yaml': '"get_image": "!"\n' });
  assert.not.ok(Enforcer.load(opts('/nonexistent', { policyFile: path.join(abs, 'p.yaml') })).check(admin, 'get_image', ownImage));
});

test('policy.yaml falls back to policy.json (deprecated JSON, still read)', () => {
  const dir = tree({ 'policy.json': '{"get_image": "role:admin", "copy_image": [["role:member"]]}' });
  const r = Enforcer.inspect(opts(dir));
  assert.equal(r.files, [path.join(dir, 'policy.json')]);
  assert.equal(r.problems.map((p) => p.level), ['warning']);
  assert.match(r.problems[0].message, /JSON policy files are deprecated/);
  assert.not.ok(r.enforcer!.check(member, 'get_image', ownImage));
  assert.ok(r.enforcer!.check(member, 'copy_image', ownImage), 'the legacy list-of-lists form');
});

test('policy_dirs: files in sorted order override policy_file and each other; dotfiles and subdirectories are skipped', () => {
  const dir = tree({
    'policy.yaml': '"get_image": "role:admin"\n"modify_image": "role:admin"\n',
    'policy.d/20-b.yaml': '"get_image": "role:reader"\n',
    'policy.d/10-a.yaml': '"get_image": "!"\n"delete_image": "!"\n',
    'policy.d/.hidden.yaml': '"modify_image": "!"\n',
    'policy.d/sub/x.yaml': '"modify_image": "@"\n',
    'policy.d/no-extension': '"upload_image": "!"\n',
  });
  const e = Enforcer.load(opts(dir));
  assert.equal(e.files.map((f) => path.relative(dir, f)), ['policy.yaml', 'policy.d/10-a.yaml', 'policy.d/20-b.yaml', 'policy.d/no-extension']);
  assert.ok(e.check(member, 'get_image', ownImage), '20-b wins over 10-a and policy.yaml');
  assert.not.ok(e.check(admin, 'delete_image', ownImage));
  assert.not.ok(e.check(member, 'modify_image', ownImage), 'policy.yaml, not the hidden or nested files');
  assert.not.ok(e.check(admin, 'upload_image', ownImage));
  // a policy_dirs entry that is a file stops the load
  const bad = tree({ 'policy.d': 'not a dir' });
  assert.match(loadError(opts(bad)).message, /policy_dirs entry is not a directory/);
});

test('an unusable rule stops the load, naming file, line and policy; every one is reported', () => {
  const dir = tree({
    'policy.yaml': '"get_image": "role:admin"\n\n"modify_image": "role:admin or"\n',
    'policy.d/a.yaml': '# comment\n"delete_image": "admin"\n"upload_image": 5\n"add_member": "(role:admin"\n',
  });
  const err = loadError(opts(dir));
  const f = (n: string) => path.join(dir, n);
  assert.equal(
    err.problems.filter((p) => p.level === 'error').map((p) => [p.file, p.line, p.rule]),
    [[f('policy.yaml'), 3, 'modify_image'], [f('policy.d/a.yaml'), 2, 'delete_image'], [f('policy.d/a.yaml'), 3, 'upload_image'], [f('policy.d/a.yaml'), 4, 'add_member']],
  );
  assert.match(err.message, `${f('policy.yaml')}:3: policy "modify_image": cannot parse "role:admin or" at column 12`);
  assert.match(err.message, /"delete_image": cannot parse "admin" at column 1: "admin" is not a check/);
  assert.match(err.message, /"upload_image": expected a check string, found 5/);
  assert.match(err.message, /"add_member": cannot parse "\(role:admin" at column 1: "\(" is never closed/);
});

test('broken YAML or a file that is not a mapping: file and line', () => {
  const yamlErr = loadError(opts(tree({ 'policy.yaml': '"get_image": "role:admin"\n"modify_image": @admin\n' })));
  assert.is(yamlErr.problems[0].line, 2);
  assert.match(yamlErr.message, /policy.yaml:2: not valid YAML: .*reserved character @/);
  assert.match(loadError(opts(tree({ 'policy.yaml': '"modify_image": [unclosed\n' }))).message, /not valid YAML/);
  assert.match(loadError(opts(tree({ 'policy.yaml': '- role:admin\n' }))).message, /must map rule names to check strings/);
  // empty or comment-only files are fine (Debian ships an all-comment policy.d/00_default_policy.yaml)
  assert.equal(Enforcer.inspect(opts(tree({ 'policy.yaml': '# nothing\n', 'policy.d/x.yaml': '' }))).problems, []);
});

test('YAML details as PyYAML reads them: "name:" alone means always, a repeated name: the last wins (warned)', () => {
  const r = Enforcer.inspect(opts(tree({ 'policy.yaml': 'publicize_image:\ncopy_image: "!"\ncopy_image: role:member\n' })));
  assert.ok(r.enforcer!.check(member, 'publicize_image', ownImage));
  assert.ok(r.enforcer!.check(member, 'copy_image', ownImage));
  assert.equal(r.problems.map((p) => [p.level, p.line, p.rule]), [['warning', 3, 'copy_image']]);
});

test('rule:NAME of an undefined rule falls back to "default" (oslo\'s Rules.__missing__); cycles deny instead of recursing', () => {
  const dir = tree({ 'policy.yaml': '"default": "role:member"\n"get_image": "rule:typo"\n"modify_image": "rule:a or role:admin"\n"a": "rule:b"\n"b": "rule:a"\n' });
  const r = Enforcer.inspect(opts(dir));
  const e = r.enforcer!;
  assert.ok(e.check(member, 'get_image', ownImage), 'default = role:member');
  assert.not.ok(e.check({ ...member, roles: ['reader'] }, 'get_image', ownImage));
  assert.not.ok(e.check(admin, 'modify_image', ownImage), 'depends on a cycle: denies (Glance would answer 500)');
  const warned = r.problems.filter((p) => p.level === 'warning').map((p) => `${p.rule}: ${p.message}`);
  assert.ok(warned.some((w) => /^get_image: refers to undefined rule:typo; the "default" rule applies/.test(w)), warned.join('\n'));
  assert.ok(warned.some((w) => /^a: is part of a cycle/.test(w)));
  assert.ok(warned.some((w) => /^modify_image: depends on a cycle/.test(w)));
});

test('a file rule equal to the default, or one deprecated for removal, is warned about', () => {
  const r = Enforcer.inspect(opts(tree({ 'policy.yaml': '"publicize_image": "role:admin"\n"modify_task": ""\n' })));
  assert.equal(r.problems.map((p) => [p.rule, p.message.slice(0, 20)]), [
    ['publicize_image', 'same as the default;'],
    ['modify_task', 'deprecated for remov'],
  ]);
});

test('scope: with enforce_scope a system- or domain-scoped token fails project-scoped policies', () => {
  const sys: RequestContext = { ...admin, projectId: null, systemScope: 'all' };
  const dir = tree({});
  assert.ok(Enforcer.load(opts(dir)).check(sys, 'get_images', { project_id: null }));
  const scoped = Enforcer.load(opts(dir, { enforceScope: true }));
  assert.not.ok(scoped.check(sys, 'get_images', { project_id: null }));
  assert.not.ok(scoped.check({ ...admin, domainId: 'd1' }, 'get_images', { project_id: 'p1' }));
  assert.ok(scoped.check(admin, 'get_images', { project_id: 'p1' }));
  assert.ok(scoped.check(sys, 'context_is_admin', {}), 'no scope types: no scope check');
});

test('a renamed policy keeps an override of its old name, as oslo.policy does', () => {
  const defaults: RuleDefault[] = [
    { name: 'default', checkStr: '' },
    { name: 'new_name', checkStr: 'role:admin', scopeTypes: ['project'], deprecatedRule: { name: 'old_name', checkStr: 'role:member', since: 'W' } },
  ];
  const e = Enforcer.load(opts(tree({ 'policy.yaml': '"old_name": "role:reader"\n' })), undefined, defaults);
  assert.is(e.ruleInForce('new_name'), 'role:reader');
  const plain = Enforcer.load(opts(tree({}), { enforceNewDefaults: false }), undefined, defaults);
  assert.is(plain.ruleInForce('new_name'), '(role:admin or role:member)');
  assert.match(plain.defaultsYaml(), /# WARNING: A rule name change has been identified\.\n[^]*# "old_name": "rule:new_name"\n/);
});

test('check-config: a bad policy file fails it, naming the file, line and policy', async () => {
  const dir = tree({ 'images/': '', 'state/': '', 'policy.yaml': '"get_image": "role:admin"\n"modify_image": "role:admin or or role:member"\n' });
  const conf = path.join(dir, 'glance-api.conf');
  fs.writeFileSync(
    conf,
    `[glance_store]\nfilesystem_store_datadir = ${dir}/images\n[imaged]\nstate_dir = ${dir}/state\nservice_uid = ${process.geteuid!()}\nservice_gid = ${process.getegid!()}\n`,
  );
  const r = await run(IMAGED, ['check-config', '--config-file', conf]);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, `error: oslo_policy.policy_file: policy "modify_image": cannot parse "role:admin or or role:member" at column 15: "or" needs a check before it (${dir}/policy.yaml:2)`);
  assert.match(r.stdout, '[oslo_policy]\npolicy_file = policy.yaml\n');
  fs.writeFileSync(path.join(dir, 'policy.yaml'), '"modify_image": "role:admin or role:member"\n');
  const ok = await run(IMAGED, ['check-config', '--config-file', conf]);
  assert.is(ok.code, 0, ok.stdout + ok.stderr);

  const config = loadConfig({ configFiles: [conf], configDirs: [] }).config as Config;
  assert.equal(checkPolicyFiles(config), []);
  const eff = await run(IMAGED, ['policy-defaults', '--effective', '--config-file', conf]);
  assert.match(eff.stdout, /^"modify_image": "role:admin or role:member"\n"default": ""\n/);
});

test.run();
