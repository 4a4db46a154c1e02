import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PropertyProtections, loadProtections, parseProtections, protectedPatch, type RuleFormat } from '../../src/auth/property-protections.js';
import type { RequestContext } from '../../src/auth/context.js';
import { HttpError } from '../../src/util/errors.js';

const ctx = (...roles: string[]): RequestContext => ({ projectId: 'p', userId: 'u', roles, isAdmin: roles.includes('admin'), requestId: 'r' });

function rules(text: string, format: RuleFormat = 'roles') {
  const { rules, problems } = parseProtections(text, format, 'pp.conf');
  assert.equal(problems.filter((p) => p.level === 'error'), [], 'no errors expected');
  return new PropertyProtections(rules, format);
}

// Glance's own sample (/etc/glance/property-protections-roles.conf): x_ properties for members, the rest admin's.
const SAMPLE = `
# comment
[^x_.*]
create = admin,member,_member_
read = admin,member,_member_
update = admin,member,_member_
delete = admin,member,_member_

[.*]
create = admin
read = admin
update = admin
delete = admin
`;

test('roles: sections are regexes tried in file order, the first match decides', () => {
  const p = rules(SAMPLE);
  assert.ok(p.allows(ctx('member'), 'x_foo', 'create'));
  assert.ok(p.allows(ctx('_member_'), 'x_foo', 'delete'));
  assert.not.ok(p.allows(ctx('member'), 'foo', 'read'));
  assert.ok(p.allows(ctx('admin'), 'foo', 'update'));
  // [^x_.*] matched first, and admin is listed there too
  assert.ok(p.allows(ctx('admin'), 'x_foo', 'read'));
  assert.not.ok(p.allows(ctx('reader'), 'x_foo', 'read'));
});

test('roles: re.search semantics (unanchored), unmatched properties are nobody\'s, an empty file protects nothing', () => {
  const p = rules('[spl_]\ncreate = @\nread = @\nupdate = @\ndelete = @\n');
  assert.ok(p.allows(ctx(), 'my_spl_prop', 'read'), 'search, not match');
  assert.not.ok(p.allows(ctx('admin'), 'other', 'read'), 'no section matches: denied, even to admin');
  assert.ok(rules('').allows(ctx(), 'anything', 'create'));
});

test("roles: '@' is everyone, '!' nobody, an empty value nobody (with Glance's warning); rule roles compare lower-cased", () => {
  const { rules: r, problems } = parseProtections('[a]\ncreate = @\nread = !\nupdate =\ndelete = Admin, Member\n', 'roles', 'pp.conf');
  const p = new PropertyProtections(r, 'roles');
  assert.ok(p.allows(ctx(), 'a', 'create'));
  assert.not.ok(p.allows(ctx('admin'), 'a', 'read'));
  assert.not.ok(p.allows(ctx('admin'), 'a', 'update'));
  assert.ok(p.allows(ctx('member'), 'a', 'delete'));
  assert.equal(problems.map((x) => [x.level, x.section, x.option]), [['warning', 'a', 'update']]);
  assert.match(problems[0].message, /operation update for rule a is not found\. No role will be allowed/);
});

test('file format: [DEFAULT] is inherited, option names are case-insensitive, section names case-sensitive, ":" works, continuation lines, %% escapes', () => {
  const p = rules('[DEFAULT]\nread = @\n[^Foo$]\nCREATE: admin\nupdate = admin,\n  member\ndelete = !\n[^pct$]\ncreate = r%%1\nupdate = @\ndelete = @\n');
  assert.ok(p.allows(ctx(), 'Foo', 'read'), 'read from [DEFAULT]');
  assert.not.ok(p.allows(ctx('admin'), 'foo', 'read'), 'section names are case-sensitive regexes');
  assert.ok(p.allows(ctx('admin'), 'Foo', 'create'));
  assert.ok(p.allows(ctx('member'), 'Foo', 'update'), 'continuation line');
  assert.ok(p.allows(ctx('r%1'), 'pct', 'create'), '%% in a value is a literal %');
});

test('python regex spellings: (?P<name>...), (?P=name), \\A and \\Z', () => {
  const p = rules('[\\A(?P<x>ab)-(?P=x)\\Z]\ncreate = @\nread = @\nupdate = @\ndelete = @\n');
  assert.ok(p.allows(ctx(), 'ab-ab', 'read'));
  assert.not.ok(p.allows(ctx(), 'ab-ab-', 'read'));
});

const errorsOf = (text: string, format: RuleFormat = 'roles') =>
  parseProtections(text, format, 'pp.conf').problems.filter((p) => p.level === 'error');

test('invalid files are errors naming file, section and option', () => {
  let e = errorsOf('[a]\ncreate = @\nread = @\nupdate = @\n');
  assert.equal(e.map((x) => [x.section, x.option]), [['a', 'delete']]);
  assert.match(e[0].message, /^pp\.conf: \[a\] has no "delete" option/);
  e = errorsOf('[a]\ncreate = @,!\nread = @\nupdate = @\ndelete = @\n');
  assert.match(e[0].message, /\[a\] create=@,!: '@' and '!' are mutually exclusive/);
  e = errorsOf('[a(]\ncreate = @\nread = @\nupdate = @\ndelete = @\n');
  assert.match(e[0].message, /malformed property protection rule \[a\(\]/);
  e = errorsOf('[a]\ncreate = @\nread = @\nupdate = @\ndelete = @\n[a]\ncreate = @\nread = @\nupdate = @\ndelete = @\n');
  assert.match(e[0].message, /section \[a\] appears twice/);
  e = errorsOf('create = @\n');
  assert.match(e[0].message, /no \[section\] header/);
  e = errorsOf('[a]\ncreate = 50%\nread = @\nupdate = @\ndelete = @\n');
  assert.equal([e[0].section, e[0].option], ['a', 'create']);
  e = errorsOf('[a]\ncreate = rule_a,rule_b\nread = r\nupdate = r\ndelete = r\n', 'policies');
  assert.match(e[0].message, /multiple policies 'rule_a,rule_b' not allowed/);
});

test('loadProtections: a missing file is an error naming it', () => {
  const { problems } = loadProtections('/nonexistent/pp.conf', 'roles');
  assert.is(problems[0].level, 'error');
  assert.match(problems[0].message, /\/nonexistent\/pp\.conf/);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pp-'));
  try {
    writeFileSync(path.join(dir, 'pp.conf'), SAMPLE);
    const r = loadProtections(path.join(dir, 'pp.conf'), 'roles');
    assert.equal(r.problems, []);
    assert.equal(r.rules.map((x) => x.section), ['^x_.*', '.*']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('policies: the named rule goes to the policy callback; @ and ! short-circuit; unplugged rules deny', () => {
  const p = rules(
    '[^x_]\ncreate = glance_creator\nread = @\nupdate = !\ndelete = context_is_admin\n',
    'policies',
  );
  assert.not.ok(p.allows(ctx('admin'), 'x_a', 'create'), 'no policy engine yet: deny');
  const stub: Record<string, (c: RequestContext) => boolean> = {
    glance_creator: (c) => c.roles.includes('creator'),
    context_is_admin: (c) => c.isAdmin,
  };
  const asked: string[] = [];
  p.policyCheck = (c, rule) => (asked.push(rule), stub[rule]?.(c) ?? false);
  assert.ok(p.allows(ctx('creator'), 'x_a', 'create'));
  assert.not.ok(p.allows(ctx('member'), 'x_a', 'create'));
  assert.ok(p.allows(ctx(), 'x_a', 'read'));
  assert.not.ok(p.allows(ctx('admin'), 'x_a', 'update'));
  assert.ok(p.allows(ctx('admin'), 'x_a', 'delete'));
  assert.equal(asked, ['glance_creator', 'glance_creator', 'context_is_admin'], '@ and ! never reach the policy engine');
});

const status = (fn: () => void) => {
  try {
    fn();
    return 0;
  } catch (e) {
    return e instanceof HttpError ? `${e.status} ${e.message}` : String(e);
  }
};

test('protectedPatch: hidden properties are "missing" for replace/remove, kept in the result; add needs create or update', () => {
  const p = rules('[^ro_]\ncreate = !\nread = @\nupdate = !\ndelete = !\n[^secret]\ncreate = admin\nread = admin\nupdate = admin\ndelete = admin\n[.*]\ncreate = @\nread = @\nupdate = @\ndelete = @\n');
  const g = protectedPatch(p, ctx('member'), { ro_a: '1', secret_b: '2', c: '3' });
  assert.equal(g.visible, { ro_a: '1', c: '3' });
  const op = (o: 'add' | 'replace' | 'remove', k: string) => ({ op: o, path: [k], value: 'v' });
  assert.is(status(() => g.check(op('replace', 'ro_a'), g.visible)), "403 Attribute 'ro_a' is reserved.");
  assert.is(status(() => g.check(op('remove', 'ro_a'), g.visible)), "403 Attribute 'ro_a' is reserved.");
  assert.is(status(() => g.check(op('add', 'ro_a'), g.visible)), "403 Attribute 'ro_a' is reserved.", 'add on an existing readable one is an update');
  assert.is(status(() => g.check(op('add', 'ro_new'), g.visible)), "403 Attribute 'ro_new' is reserved.");
  assert.is(status(() => g.check(op('add', 'secret_b'), g.visible)), "403 Attribute 'secret_b' is reserved.", 'hidden: add is a create');
  assert.is(status(() => g.check(op('replace', 'secret_b'), g.visible)), 0, 'hidden: left to applyOp (409 does not exist)');
  assert.is(status(() => g.check(op('replace', 'name'), g.visible)), 0, 'base attributes are never protected');
  assert.is(status(() => g.check(op('replace', 'c'), g.visible)), 0);
  assert.equal(g.result({ ro_a: '1', c: 'v' }), { secret_b: '2', ro_a: '1', c: 'v' });
  const none = protectedPatch(null, ctx(), { a: 1 });
  assert.equal(none.result(none.visible), { a: 1 });
});

test.run();
