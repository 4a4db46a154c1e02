// Startup checks of the directories imaged writes to: every file store's
// datadir and [imaged] state_dir. Each failure names the path and the command
// that fixes it, because the operator reading it is usually about to type it.
import fs from 'node:fs';
import { normalizeSection } from './ini.js';
import type { Config, ConfigProblem } from './types.js';

interface Target {
  option: string; // "fast.filesystem_store_datadir"
  name: string; // "filesystem_store_datadir"
  path: string;
  /** mode for a directory we create */
  mode: number;
  /** filesystem_store_file_perm of the store, for the traverse-bit warning */
  filePerm: number;
}

function targets(config: Config): Target[] {
  const out: Target[] = [];
  for (const s of config.stores) {
    if (s.type !== 'file' || !s.datadir) continue;
    const section = config.multiStore ? normalizeSection(s.id) : 'glance_store';
    // others get traverse (x) only when file_perm lets them read the files
    const mode = 0o750 | (s.filePerm & 0o007 ? 0o005 : 0);
    out.push({ option: `${section}.filesystem_store_datadir`, name: 'filesystem_store_datadir', path: s.datadir, mode, filePerm: s.filePerm });
  }
  out.push({ option: 'imaged.state_dir', name: 'state_dir', path: config.imaged.stateDir, mode: 0o750, filePerm: 0 });
  return out;
}

const code = (err: unknown) => (err as NodeJS.ErrnoException)?.code ?? String(err);

export function checkStoreDirs(config: Config, opts: { create?: boolean } = {}): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { serviceUid: uid, serviceGid: gid } = config.imaged;
  const owner = `${uid}:${gid}`;
  const euid = process.geteuid?.() ?? uid;
  const seen = new Set<string>();

  for (const t of targets(config)) {
    if (seen.has(t.path)) continue;
    seen.add(t.path);
    const p = t.path;
    const what = `${t.name} ${p}`;
    const problem = (message: string, level: ConfigProblem['level'] = 'error') => problems.push({ level, option: t.option, message });

    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (err) {
      if (code(err) !== 'ENOENT') {
        problem(`${what} cannot be examined (${code(err)}): check that its parent directories exist and are searchable by uid ${euid}`);
        continue;
      }
      const fix = `run sudo mkdir -p ${p} && sudo chown ${owner} ${p}`;
      if (!opts.create) {
        problem(`${what} does not exist: ${fix}`);
        continue;
      }
      try {
        fs.mkdirSync(p, { recursive: true, mode: t.mode });
        // as root, hand the new directory to the service user it is meant for
        if (euid === 0 && (uid !== 0 || gid !== 0)) fs.chownSync(p, uid, gid);
        st = fs.statSync(p);
      } catch (err2) {
        problem(`${what} does not exist and could not be created (${code(err2)}): ${fix}`);
        continue;
      }
    }

    if (!st.isDirectory()) {
      problem(`${what} is not a directory: point ${t.name} at a directory`);
      continue;
    }
    if (st.uid !== uid) {
      problem(`${what} is owned by uid ${st.uid}, not the service uid ${uid}: run sudo chown ${owner} ${p}`);
      continue;
    }
    try {
      fs.accessSync(p, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
    } catch {
      problem(
        euid === uid
          ? `${what} is not writable by this process (uid ${euid}): run sudo chmod u+rwx ${p}`
          : `${what} is not writable by this process (uid ${euid}): start imaged as the service uid ${uid}`,
      );
      continue;
    }
    // glance chmods g+x / o+x here; a check should not change modes, so only say it
    const missing = [t.filePerm & 0o070 && !(st.mode & 0o010) ? 'g' : '', t.filePerm & 0o007 && !(st.mode & 0o001) ? 'o' : ''].join('');
    if (missing) {
      const who = { g: 'group', o: 'other users', go: 'group and other users' }[missing];
      problem(
        `${what} lacks ${missing}+x, so the ${who} that filesystem_store_file_perm ${t.filePerm.toString(8)} lets read image files cannot reach them: run sudo chmod ${missing}+x ${p}`,
        'warning',
      );
    }
  }
  return problems;
}
