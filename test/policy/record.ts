// Records the policy scenario's outcome table from a real glance-api 25, for test/policy/compare.test.ts:
//   IMAGED_GLANCE_PORT=9395 IMAGED_GLANCE_NEW_DEFAULTS=1 bash test/env/glance.sh start /tmp/glance-rbac
//   node --import tsx test/policy/record.ts http://127.0.0.1:9395 > test/policy/glance25-rbac.tsv
// (legacy: the peer test/run starts, port 9393, > test/policy/glance25-legacy.tsv). It takes minutes: ~1,500 cases.
import { runScenario } from './scenario.js';

const base = process.argv[2];
if (!base) {
  console.error('usage: node --import tsx test/policy/record.ts GLANCE_URL > table.tsv');
  process.exit(2);
}
const t0 = Date.now();
const out = await runScenario(base);
for (const k of [...out.keys()].sort()) console.log(`${k}\t${out.get(k)}`);
console.error(`${out.size} cases in ${Date.now() - t0} ms`);
