// Records the policy scenario's outcome table from a real glance-api 25, for test/policy/compare.test.ts:
//   IMAGED_GLANCE_PORT=9395 IMAGED_GLANCE_NEW_DEFAULTS=1 bash test/env/glance.sh start /tmp/glance-rbac
//   node --import tsx test/policy/record.ts http://127.0.0.1:9395 > test/policy/glance25-rbac.tsv
// (legacy: the peer test/run starts, port 9393, > test/policy/glance25-legacy.tsv). It takes minutes: ~1,500 cases.
// With --keystone the callers are Keystone users with tokens (test/keystone/policy-cast.ts) of the test Keystone
// (IMAGED_TEST_KEYSTONE_DIR, default /tmp/imaged-keystone), for a glance-api started with IMAGED_GLANCE_KEYSTONE.
import { runScenario } from './scenario.js';
import { keystoneEnv, issueToken } from '../helpers/keystone.js';
import { keystoneCast } from '../keystone/policy-cast.js';

const args = process.argv.slice(2);
const keystone = args.includes('--keystone');
const base = args.find((a) => !a.startsWith('--'));
if (!base) {
  console.error('usage: node --import tsx test/policy/record.ts [--keystone] GLANCE_URL > table.tsv');
  process.exit(2);
}
const t0 = Date.now();
let cast;
if (keystone) {
  const k = keystoneEnv();
  cast = await keystoneCast(k, (await issueToken(k, 'admin', { system: true })).token);
}
const out = await runScenario(base, { cast });
for (const k of [...out.keys()].sort()) console.log(`${k}\t${out.get(k)}`);
console.error(`${out.size} cases in ${Date.now() - t0} ms`);
