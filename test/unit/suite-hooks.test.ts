import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from '../helpers/suite.js';
import { ROOT, run } from '../helpers/proc.js';

const t = suite('test/helpers/suite: hook failures are reported, never swallowed');

t('a throwing before hook fails every test of its suite, naming the suite and the error; a throwing after fails the run', async () => {
  const r = await run(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test/unit/fixtures', 'hooks-fail\\.ts$'], {
    cwd: ROOT, env: { ...process.env, NO_COLOR: '1' },
  });
  const out = r.stdout + r.stderr;
  assert.is.not(r.code, 0, out);
  assert.match(out, /the before hook of suite "set-up explodes" failed: no such thing as port 99999/);
  assert.match(out, /not run: the before hook of suite "set-up explodes" failed/);
  assert.match(out, /the after hook of suite "tear-down explodes" failed: Error: could not unmount/);
  assert.match(out, /Total:\s+3/);
  assert.match(out, /Passed:\s+1/);
});

t('every test file makes its suites with test/helpers/suite, not with uvu directly', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  const direct = files(path.join(ROOT, 'test'))
    .filter((f) => f.endsWith('.test.ts'))
    .filter((f) => /from ['"]uvu['"]/.test(readFileSync(f, 'utf8')));
  assert.equal(direct.map((f) => path.relative(ROOT, f)), []);
});

t.run();
