import path from 'node:path';
import { run } from './proc.js';
import { cephDir, readEnvFile } from './envfile.js';

/** The throwaway cluster test/run starts (test/env/ceph.sh); its env file says where everything is. */
export interface CephEnv {
  dir: string;
  conf: string;
  fsid: string;
  pool: string;
  glanceKeyring: string;
  adminKeyring: string;
}

export function cephEnv(): CephEnv {
  const dir = cephDir();
  const env = readEnvFile(dir, 'test/env/ceph.sh start');
  return {
    dir,
    conf: env.CEPH_CONF,
    fsid: env.CEPH_FSID,
    pool: env.CEPH_POOL ?? 'images',
    glanceKeyring: env.CEPH_GLANCE_KEYRING,
    adminKeyring: env.CEPH_ADMIN_KEYRING,
  };
}

/** The rbd CLI as client.admin against the test cluster. */
export async function rbdCli(c: CephEnv, ...args: string[]) {
  const r = await run('rbd', ['-c', c.conf, '--id', 'admin', ...args], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`rbd ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

export async function cephScript(c: CephEnv, cmd: string) {
  const script = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../env/ceph.sh');
  const r = await run('bash', [script, cmd, c.dir], { timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`ceph.sh ${cmd} failed: ${r.stdout}\n${r.stderr}`);
}
