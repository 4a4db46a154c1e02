import { readFileSync } from 'node:fs';
import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { startTestDaemon } from '../helpers/daemon.js';
import { glanceEnv } from '../helpers/glance.js';
import { differences, parseTable, runScenario, staleCases, type Subset } from './scenario.js';

// imaged against glance-api 25 on the same scenario (test/policy/scenario.ts): callers with every role, images of
// every visibility/status/membership, every action. The full tables were recorded from real glance-api 25 peers
// (test/policy/record.ts); a subset also runs live against the peer test/run starts (legacy defaults), so the
// recording cannot go stale unnoticed.

const table = (name: string) => parseTable(readFileSync(new URL(`./${name}`, import.meta.url), 'utf8'));

async function imagedOutcomes(secureRbac: boolean, subset: Subset = {}) {
  const d = await startTestDaemon({
    tweak: (c) => {
      c.policy.enforceNewDefaults = secureRbac;
      c.policy.enforceSecureRbac = secureRbac;
    },
  });
  try {
    return await runScenario(d.url, subset);
  } finally {
    await d.stop();
  }
}

const t = suite('policy: the same answers as glance-api 25');

for (const [mode, secureRbac, file] of [['legacy defaults', false, 'glance25-legacy.tsv'], ['secure RBAC', true, 'glance25-rbac.tsv']] as const) {
  t(`${mode}: every case of the recorded glance-api 25 table`, async () => {
    const want = table(file);
    const got = await imagedOutcomes(secureRbac);
    const diffs = differences(want, got);
    assert.ok(want.size > 1500, `the table has ${want.size} cases`);
    assert.is(diffs.length, 0, `${diffs.length} of ${want.size} cases differ:\n${diffs.slice(0, 40).join('\n')}`);
  });
}

t('legacy defaults: a live subset against the glance-api 25 peer agrees with imaged and with the recording', async () => {
  const subset: Subset = {
    callers: ['admin', 'A-reader', 'B-member', 'C-none'],
    fixtures: ['private-active', 'shared-pending-b', 'public-deactivated', 'community-active'],
    actions: ['show', 'download', 'rename', 'to-public', 'delete', 'list-members', 'accept-b'],
  };
  const glance = await runScenario(glanceEnv().url, subset);
  const imaged = await imagedOutcomes(false, subset);
  assert.ok(glance.size > 100, `${glance.size} cases`);
  const live = differences(glance, imaged);
  assert.is(live.length, 0, `imaged differs from the live glance-api:\n${live.join('\n')}`);
  // listings of the subset hold only its fixtures: compare the recorded ones on those
  const stale = staleCases(table('glance25-legacy.tsv'), glance, subset.fixtures!);
  assert.is(stale.length, 0, `the recording is stale:\n${stale.join('\n')}`);
});

t.run();
