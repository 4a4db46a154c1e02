// Stryker over one target at a time (test/mutation/run picks it with MUTATION_TARGET): the files to mutate and
// the uvu tests that must notice. The command runner runs the whole command for each mutant, so each target
// names only the test files that exercise it.
const uvu = (pattern) => `node --import tsx node_modules/uvu/bin.js test '${pattern}'`;

export const targets = {
  // the pure modules are measured against their unit tests alone (the API tests cover them too, at 10x the time)
  auth: { mutate: ['src/auth/**/*.ts'], tests: uvu('(unit/(auth|noauth-context|policy-rules|policy-glance|property-protections)|config/policy)\\.test\\.ts$') },
  range: { mutate: ['src/util/range.ts'], tests: uvu('unit/range\\.test\\.ts$') },
  query: { mutate: ['src/images/query.ts'], tests: uvu('unit/query\\.test\\.ts$') },
  importer: { mutate: ['src/images/importer.ts'], tests: uvu('api/import\\.test\\.ts$') },
  config: { mutate: ['src/config/**/*.ts'], tests: uvu('config/.*\\.test\\.ts$') },
};

const name = process.env.MUTATION_TARGET ?? 'range';
const target = targets[name];
if (!target) throw new Error(`MUTATION_TARGET must be one of ${Object.keys(targets).join(', ')}`);
const out = process.env.MUTATION_OUT ?? `/tmp/imaged-mutation/${name}`;

export default {
  testRunner: 'command',
  commandRunner: { command: target.tests },
  // MUTATION_MUTATE narrows a run, e.g. 'src/images/importer.ts:255-275' (Stryker's file:lines syntax)
  mutate: process.env.MUTATION_MUTATE ? process.env.MUTATION_MUTATE.split(',') : target.mutate,
  coverageAnalysis: 'off',
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress-append-only', 'json'],
  jsonReporter: { fileName: `${out}/mutation.json` },
  // the sandbox copy of the project lives outside it (the top level holds no generated files)
  tempDirName: `${out}/sandbox`,
  cleanTempDir: process.env.MUTATION_KEEP !== '1',
  ignorePatterns: ['bench', 'systemd', 'dist', 'var', '.bench-*'],
  thresholds: { high: 90, low: 80, break: null },
};
