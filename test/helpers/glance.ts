import { readFileSync } from 'node:fs';
import { readEnvFile } from './envfile.js';

/** The real glance-api peer that test/run starts (test/env/glance.sh); its env file says where it is. */
export interface GlanceEnv {
  url: string;
  log: string;
  clientHome: string;
}

export function glanceEnv(): GlanceEnv {
  const env = readEnvFile(process.env.IMAGED_TEST_GLANCE_DIR ?? '/tmp/imaged-glance', 'test/env/glance.sh start');
  return { url: env.GLANCE_URL, log: env.GLANCE_LOG, clientHome: env.GLANCE_CLIENT_HOME };
}

/** How many times glance-api served GET /v2/images/{id}/file (from its access log). */
export function glanceFileReads(g: GlanceEnv, id: string): number {
  const text = readFileSync(g.log, 'utf8');
  return text.split(`"GET /v2/images/${id}/file`).length - 1;
}
