import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Reads DIR/env written by one of test/env/*.sh (KEY=value lines). Throws, naming the start command, when the
 * server is not there: suites that need a real server fail loudly, never skip.
 */
export function readEnvFile(dir: string, startHint: string): Record<string, string> {
  const file = path.join(dir, 'env');
  if (!existsSync(file)) throw new Error(`no test server at ${dir}: start it with ${startHint} ${dir} (test/run does)`);
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2].replace(/^["']|["']$/g, '');
  }
  return env;
}

export const cephDir = () => process.env.IMAGED_TEST_CEPH_DIR ?? '/tmp/imaged-ceph';
