import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The real glance-api peer that test/run starts (test/env/glance.sh); its env file says where it is. */
export interface GlanceEnv {
  url: string;
  log: string;
  clientHome: string;
}

export function glanceEnv(): GlanceEnv {
  const dir = process.env.IMAGED_TEST_GLANCE_DIR ?? '/tmp/imaged-glance';
  const file = path.join(dir, 'env');
  if (!existsSync(file)) throw new Error(`no glance-api peer at ${dir}: start it with test/env/glance.sh start ${dir} (test/run does)`);
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return { url: env.GLANCE_URL, log: env.GLANCE_LOG, clientHome: env.GLANCE_CLIENT_HOME };
}

/** How many times glance-api served GET /v2/images/{id}/file (from its access log). */
export function glanceFileReads(g: GlanceEnv, id: string): number {
  const text = readFileSync(g.log, 'utf8');
  return text.split(`"GET /v2/images/${id}/file`).length - 1;
}
