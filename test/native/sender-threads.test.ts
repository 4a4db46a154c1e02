// Downloads go out from the addon's sender threads by default; IMAGED_SEND_THREADS=0 sends from the
// event loop. Both must deliver the exact bytes (each case runs in its own process: the setting is read once).
import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';

const run = (env: Record<string, string>) => {
  const base = { ...process.env };
  delete base.IMAGED_SEND_THREADS;
  return JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', 'test/helpers/sendfile-once.ts'], {
      env: { ...base, ...env },
      timeout: 60_000,
    }).toString(),
  ) as { ok: boolean; senderThreads: number };
};

test('default: sender threads (min(4, CPUs)) carry the downloads, bytes exact', () => {
  const r = run({});
  assert.ok(r.ok, 'bytes differ');
  assert.is(r.senderThreads, Math.max(1, Math.min(4, os.availableParallelism())));
});

test('IMAGED_SEND_THREADS=0: sent from the event loop, bytes exact', () => {
  const r = run({ IMAGED_SEND_THREADS: '0' });
  assert.ok(r.ok, 'bytes differ');
  assert.is(r.senderThreads, 0);
});

test('IMAGED_SEND_THREADS=1', () => {
  const r = run({ IMAGED_SEND_THREADS: '1' });
  assert.ok(r.ok);
  assert.is(r.senderThreads, 1);
});

test.run();
