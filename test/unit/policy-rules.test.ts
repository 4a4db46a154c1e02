import fs from 'node:fs';
import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { pyFloat, pyStr } from '../../src/auth/pystr.js';
import { checkToString, compile, parseRule, RuleSyntaxError, type Creds, type Evaluator, type Target } from '../../src/auth/rules.js';

// The rule language against what oslo.policy 4.0.0 itself answered (fixtures/policy/expectations.py ran it on
// Debian 12 and wrote expectations.json): for every rule, oslo's str() of the parsed tree (so and/or grouping
// matches) and the result for each creds × target pair. Rules oslo could not parse (it logs and denies) or
// that raised at check time (a 500 in Glance) must be syntax errors here.

interface RuleCase {
  rule: string | unknown[];
  str: string;
  parsed: boolean;
  results: Record<string, string>;
}
const exp = JSON.parse(fs.readFileSync(new URL('fixtures/policy/expectations.json', import.meta.url), 'utf8')) as {
  ruleInputs: { named: Record<string, string>; creds: Record<string, Creds>; targets: Array<[string, Target]> };
  rules: RuleCase[];
};

/** Compiles a rule with the fixture's named rules for rule:NAME; an undefined name denies (no "default" rule here). */
function compileWithNamed(rule: string | unknown[]): Evaluator {
  const named = new Map<string, { fn: Evaluator }>();
  const ref = (name: string) => named.get(name) ?? { fn: () => false };
  for (const name of Object.keys(exp.ruleInputs.named)) named.set(name, { fn: () => false });
  for (const [name, text] of Object.entries(exp.ruleInputs.named)) named.get(name)!.fn = compile(parseRule(text), ref);
  return compile(parseRule(rule), ref);
}

const show = (r: string | unknown[]) => (typeof r === 'string' ? JSON.stringify(r) : JSON.stringify(r));

test('every rule oslo.policy parses gets the same tree and the same answers', () => {
  let n = 0;
  for (const c of exp.rules) {
    if (!c.parsed || Object.values(c.results).some((r) => r.includes('E'))) continue;
    assert.is(checkToString(parseRule(c.rule)), c.str, `tree of ${show(c.rule)}`);
    const f = compileWithNamed(c.rule);
    for (const [credsName, creds] of Object.entries(exp.ruleInputs.creds)) {
      const got = exp.ruleInputs.targets.map(([, t]) => (f({ ...creds }, { ...t }) ? '1' : '0')).join('');
      assert.is(got, c.results[credsName], `${show(c.rule)} with creds ${credsName} (targets ${exp.ruleInputs.targets.map(([n]) => n).join(',')})`);
      n++;
    }
  }
  assert.ok(n > 300, `only ${n} rows checked`);
});

test('what oslo.policy cannot parse, or would fail on at check time, is a syntax error with a column', () => {
  let n = 0;
  for (const c of exp.rules) {
    if (c.parsed && !Object.values(c.results).some((r) => r.includes('E'))) continue;
    try {
      parseRule(c.rule);
      assert.unreachable(`${show(c.rule)} parsed`);
    } catch (err) {
      assert.instance(err, RuleSyntaxError, `${show(c.rule)}: ${err}`);
      assert.ok((err as RuleSyntaxError).column >= 1);
    }
    n++;
  }
  assert.ok(n >= 15, `only ${n} bad rules checked`);
});

const errorAt = (rule: string): [number, string] => {
  try {
    parseRule(rule);
  } catch (err) {
    if (err instanceof RuleSyntaxError) return [err.column, err.reason];
    throw err;
  }
  throw new Error(`${rule} parsed`);
};

test('syntax errors point at the offending token', () => {
  assert.equal(errorAt('role:member or')[0], 13);
  assert.match(errorAt('role:member or')[1], /ends after "or"/);
  assert.equal(errorAt('and role:member'), [1, '"and" needs a check before it']);
  assert.equal(errorAt('role:a and (role:b or role:c'), [12, '"(" is never closed']);
  assert.equal(errorAt('role:member)'), [12, '")" without a matching "("']);
  assert.equal(errorAt('role:(member)')[0], 13); // oslo keeps "(member" as the role, the ")" is then unmatched
  assert.equal(errorAt('role:a role:b'), [8, 'expected "and" or "or" before this']);
  assert.equal(errorAt('role:a or ()'), [12, 'empty parentheses']);
  assert.match(errorAt('role:a or admin')[1], /"admin" is not a check/);
  assert.equal(errorAt('role:a or admin')[0], 11);
  assert.match(errorAt('role:a and "quoted"')[1], /quoted string/);
  assert.equal(errorAt('   ')[0], 1);
  assert.equal(errorAt('project_id:%(project_id)d'), [12, 'only %(name)s substitutions are supported']);
  assert.equal(errorAt('role:a or project_id:50%')[0], 24);
  assert.equal(errorAt('project_id:%(project_id'), [12, 'unterminated %(name)s']);
  assert.match(errorAt('http:https://pdp.example/check')[1], /not supported/);
  assert.match(errorAt("'unterminated:%(x)s")[1], /unterminated string/);
  assert.match(errorAt('1abc:%(x)s')[1], /not a valid Python number/);
  assert.match(errorAt('01:%(x)s')[1], /not a valid Python number/);
  assert.match(errorAt('is:%(x)s')[1], /neither a Python literal/);
});

test('the legacy list-of-lists form: outer or, inner and, each item a single check', () => {
  const f = (r: unknown[], creds: Creds) => compile(parseRule(r), () => ({ fn: () => false }))(creds, {});
  assert.is(checkToString(parseRule([['role:a', 'role:b'], 'role:c'])), '((role:a and role:b) or role:c)');
  assert.ok(f([['role:a', 'role:b'], ['role:c']], { roles: ['c'] }));
  assert.not.ok(f([['role:a', 'role:b'], ['role:c']], { roles: ['a'] }));
  assert.ok(f([], {})); // empty list: always
  assert.not.ok(f([[]], {})); // only empty inner lists: never
  assert.throws(() => parseRule([['role:a', 5]]), /not a check string/);
  assert.throws(() => parseRule([{ a: 1 }]), /neither a check string nor a list/);
});

test('Glance-style rules read as Glance means them', () => {
  const getImage = compile(
    parseRule(
      "role:admin or (role:reader and (project_id:%(project_id)s or project_id:%(member_id)s or 'community':%(visibility)s or 'public':%(visibility)s or 'shared':%(visibility)s))",
    ),
    () => ({ fn: () => false }),
  );
  const reader = { project_id: 'p1', roles: ['READER'] };
  assert.ok(getImage(reader, { project_id: 'p1', member_id: null, visibility: 'private' }), 'own image, role in upper case');
  assert.not.ok(getImage(reader, { project_id: 'p2', member_id: null, visibility: 'private' }), "another project's private image");
  assert.ok(getImage(reader, { project_id: 'p2', member_id: 'p1', visibility: 'shared' }), 'shared with the caller');
  assert.ok(getImage(reader, { project_id: 'p2', member_id: null, visibility: 'public' }));
  assert.not.ok(getImage({ project_id: 'p1', roles: [] }, { project_id: 'p1', visibility: 'private', member_id: null }), 'no role');
  assert.ok(getImage({ project_id: 'p9', roles: ['Admin'] }, {}), 'admin needs no target keys');
  // a target without the keys the rule names: every comparison on them is false, not an error
  assert.not.ok(getImage(reader, {}));
  // oslo.policy compares str(None) == str(None): a project-less caller matches a None member
  assert.ok(getImage({ project_id: null, roles: ['reader'] }, { project_id: 'p2', member_id: null, visibility: 'private' }));
});

test('values compare as Python prints them', () => {
  assert.is(pyStr(true), 'True');
  assert.is(pyStr(false), 'False');
  assert.is(pyStr(null), 'None');
  assert.is(pyStr(undefined), 'None');
  assert.is(pyStr(5), '5');
  assert.is(pyStr(1.5), '1.5');
  assert.is(pyFloat(1e16), '1e+16'); // repr(1e16): integral JS numbers count as ints, floats only via pyFloat
  assert.is(pyFloat(3.0), '3.0');
  assert.is(pyStr(0.00001), '1e-05');
  assert.is(pyStr(['a', "b'c", 1, null]), `['a', "b'c", 1, None]`);
  assert.is(pyStr({ k: 'v', n: true }), "{'k': 'v', 'n': True}");
  assert.is(pyStr(new Date(Date.UTC(2026, 11, 2, 15, 0, 0))), '2026-12-02 15:00:00');
  assert.is(pyStr(new Date(Date.UTC(2026, 11, 2, 15, 0, 0, 250))), '2026-12-02 15:00:00.250000');
  const lit = (kind: string, v: unknown) => compile(parseRule(`${kind}:%(x)s`), () => ({ fn: () => false }))({}, { x: v });
  assert.ok(lit('1e3', 1000.5 - 0.5) === false, 'a float literal prints 1000.0, an integral JS number prints 1000');
  assert.ok(lit('2.5', 2.5));
  assert.ok(lit('-0x10', -16));
  assert.ok(lit('0b101', 5));
  assert.ok(lit('u"x"', 'x'));
  assert.ok(lit("'a\\'b'", "a'b"));
});

test.run();
