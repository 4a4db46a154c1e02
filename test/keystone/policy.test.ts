import { readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { run, ROOT } from '../helpers/proc.js';
import { issueToken, keystoneDir, keystoneEnv, startKeystoneDaemon, type KeystoneEnv } from '../helpers/keystone.js';
import { differences, parseTable, runScenario, staleCases, type Cast, type Subset } from '../policy/scenario.js';
import { keystoneCast } from './policy-cast.js';

// The policy scenario (test/policy/scenario.ts) with Keystone: the callers are real users with project-scoped
// tokens, imaged validates them with [paste_deploy] flavor = keystone, and so does a glance-api 25 with its keystone
// pipeline. Tables recorded from that glance (test/policy/record.ts --keystone) must equal imaged's, in both policy
// modes; a subset runs live against the keystone glance this suite starts (the one edge-glance.test.ts uses, in
// turn), so the recordings cannot go stale unnoticed.

const GLANCE_DIR = process.env.IMAGED_TEST_GLANCE_KEYSTONE_DIR ?? '/tmp/imaged-glance-keystone';
const GLANCE_PORT = process.env.IMAGED_TEST_GLANCE_KEYSTONE_PORT ?? '9397';
const glanceSh = (cmd: string) => run('bash', [path.join(ROOT, 'test/env/glance.sh'), cmd, GLANCE_DIR], {
  env: { ...process.env, IMAGED_GLANCE_PORT: GLANCE_PORT, IMAGED_GLANCE_KEYSTONE: keystoneDir() }, timeoutMs: 300_000,
});
const table = (name: string) => parseTable(readFileSync(new URL(`../policy/${name}`, import.meta.url), 'utf8'));

interface Ctx { k: KeystoneEnv; cast: Cast }
const t = suite<Ctx>('keystone: the policy scenario with tokens, against glance-api 25 with keystonemiddleware');

t.before(async (ctx) => {
  ctx.k = keystoneEnv();
  ctx.cast = await keystoneCast(ctx.k, (await issueToken(ctx.k, 'admin', { system: true })).token);
});

async function imagedOutcomes(ctx: Ctx, secureRbac: boolean, subset: Subset = {}) {
  const d = await startKeystoneDaemon(ctx.k, {}, {
    tweak: (c) => {
      c.policy.enforceNewDefaults = secureRbac;
      c.policy.enforceSecureRbac = secureRbac;
    },
  });
  try {
    return await runScenario(d.url, { ...subset, cast: ctx.cast });
  } finally {
    await d.stop();
  }
}

t('glance-api 25 answered the same with Keystone tokens as with trusted headers (the recorded tables)', () => {
  for (const mode of ['legacy', 'rbac']) {
    const headers = table(`glance25-${mode}.tsv`);
    const tokens = table(`glance25-keystone-${mode}.tsv`);
    assert.ok(tokens.size > 1500, `${mode}: ${tokens.size} cases`);
    const diffs = differences(headers, tokens);
    assert.is(diffs.length, 0, `${mode}: ${diffs.length} cases differ:\n${diffs.slice(0, 40).join('\n')}`);
  }
});

for (const [mode, secureRbac, file] of [['legacy defaults', false, 'glance25-keystone-legacy.tsv'], ['secure RBAC', true, 'glance25-keystone-rbac.tsv']] as const) {
  t(`${mode}: imaged with Keystone answers every case as glance-api 25 with Keystone did`, async (ctx) => {
    const want = table(file);
    const got = await imagedOutcomes(ctx, secureRbac);
    const diffs = differences(want, got);
    assert.is(diffs.length, 0, `${diffs.length} of ${want.size} cases differ:\n${diffs.slice(0, 40).join('\n')}`);
  });
}

t('legacy defaults: a live subset against a keystone glance-api 25 agrees with imaged and with the recording', async (ctx) => {
  const subset: Subset = {
    callers: ['admin', 'A-none', 'B-member', 'C-member'],
    fixtures: ['private-queued', 'shared-accepted-b', 'public-active', 'community-active'],
    actions: ['show', 'download', 'add-tag', 'to-community', 'change-owner', 'show-member-b', 'remove-member-b'],
  };
  await glanceSh('purge');
  const r = await glanceSh('start');
  assert.is(r.code, 0, `glance.sh start: ${r.stderr.slice(-3000)}`);
  try {
    const glance = await runScenario(`http://127.0.0.1:${GLANCE_PORT}`, { ...subset, cast: ctx.cast });
    const imaged = await imagedOutcomes(ctx, false, subset);
    assert.ok(glance.size > 100, `${glance.size} cases`);
    const live = differences(glance, imaged);
    assert.is(live.length, 0, `imaged differs from the live glance-api:\n${live.join('\n')}`);
    // listings of the subset hold only its fixtures: compare the recorded ones on those
    const stale = staleCases(table('glance25-keystone-legacy.tsv'), glance, subset.fixtures!);
    assert.is(stale.length, 0, `the recording is stale:\n${stale.join('\n')}`);
  } finally {
    await glanceSh('purge');
  }
});

t.run();
