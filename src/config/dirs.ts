// Startup checks of the directories imaged writes to: every file store's
// datadir, [imaged] state_dir and [DEFAULT] image_cache_dir. They are made for
// the service uid (the one the daemon runs as after start), not for whoever
// runs the check: root may write anywhere, the unit's uid may not. Each
// failure names the path and the command that fixes it, because the operator
// reading it is usually about to type it.
import fs from 'node:fs';
import path from 'node:path';
import { withCommentHint } from './comments.js';
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
  /** what is inside must be the service uid's too (LMDB files, staging, cache entries) */
  walk: boolean;
}

const inside = (p: string, dir: string) => p === dir || p.startsWith(dir + path.sep);

function targets(config: Config): Target[] {
  const out: Target[] = [];
  // an edge serves the upstream's images and never writes to its file stores
  if (!config.imaged.upstream) {
    for (const s of config.stores) {
      if (s.type !== 'file' || !s.datadir) continue;
      const section = config.multiStore ? normalizeSection(s.id) : 'glance_store';
      // others get traverse (x) only when file_perm lets them read the files
      const mode = 0o750 | (s.filePerm & 0o007 ? 0o005 : 0);
      out.push({ option: `${section}.filesystem_store_datadir`, name: 'filesystem_store_datadir', path: s.datadir, mode, filePerm: s.filePerm, walk: false });
    }
  }
  const state = config.imaged.stateDir;
  out.push({ option: 'imaged.state_dir', name: 'state_dir', path: state, mode: 0o750, filePerm: 0, walk: true });
  // the edge's default cache (state_dir/cache) is made by the daemon and covered by the state_dir walk
  const cache = config.cache.dir;
  if (cache && !inside(cache, state)) {
    out.push({ option: 'DEFAULT.image_cache_dir', name: 'image_cache_dir', path: cache, mode: 0o750, filePerm: 0, walk: true });
  }
  return out;
}

const code = (err: unknown) => (err as NodeJS.ErrnoException)?.code ?? String(err);

/** May (uid, gid) do `bits` (4 r, 2 w, 1 x) on a file with this stat? From the mode bits (no ACLs, no other groups). */
function permits(st: fs.Stats, uid: number, gid: number, bits: number): boolean {
  if (uid === 0) return true;
  const m = st.uid === uid ? st.mode >> 6 : st.gid === gid ? st.mode >> 3 : st.mode;
  return (m & bits) === bits;
}

/** The first ancestor of `p` the service uid cannot search (x), if any. */
function unsearchableAncestor(p: string, uid: number, gid: number): string | undefined {
  for (let dir = path.dirname(p); ; dir = path.dirname(dir)) {
    try {
      if (!permits(fs.statSync(dir), uid, gid, 1)) return dir;
    } catch {
      return dir;
    }
    if (dir === path.dirname(dir)) return undefined;
  }
}

const WALK_LIMIT = 100_000;

/** The first entry below `dir` (depth first, bounded) not owned by `uid`. */
function foreignEntry(dir: string, uid: number): { path: string; uid: number } | undefined {
  const stack = [dir];
  let seen = 0;
  while (stack.length && seen < WALK_LIMIT) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = fs.readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const p = path.join(d, n);
      seen++;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(p);
      } catch {
        continue;
      }
      if (st.uid !== uid) return { path: p, uid: st.uid };
      if (st.isDirectory()) stack.push(p);
    }
  }
  return undefined;
}

export interface CheckOptions {
  /** create missing directories (the embedded default at start) */
  create?: boolean;
  /** a missing directory is fine: it will be created at start (check-config of the embedded default) */
  missingOk?: boolean;
}

export function checkStoreDirs(config: Config, opts: CheckOptions = {}): ConfigProblem[] {
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
    const problem = (message: string, level: ConfigProblem['level'] = 'error') =>
      problems.push({ level, option: t.option, message: withCommentHint(message, p) });

    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (err) {
      if (code(err) !== 'ENOENT') {
        problem(`${what} cannot be examined (${code(err)}): check that its parent directories exist and are searchable by uid ${uid}`);
        continue;
      }
      const fix = `run sudo mkdir -p ${p} && sudo chown ${owner} ${p}`;
      if (opts.missingOk) continue;
      if (!opts.create) {
        problem(`${what} does not exist: ${fix}`);
        continue;
      }
      try {
        const first = fs.mkdirSync(p, { recursive: true, mode: t.mode });
        // as root, hand the new directories (the parents made on the way too) to the service user they are for
        if (euid === 0 && first && (uid !== 0 || gid !== 0)) {
          for (let d = p; inside(d, first); d = path.dirname(d)) fs.chownSync(d, uid, gid);
        }
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
    if (euid === uid) {
      try {
        fs.accessSync(p, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
      } catch {
        problem(`${what} is not writable by the service uid ${uid}: run sudo chmod u+rwx ${p}`);
        continue;
      }
    } else {
      // checked for the uid the daemon will run as, not for this process
      if (!permits(st, uid, gid, 7)) {
        problem(`${what} is not writable by the service uid ${uid} (mode ${(st.mode & 0o777).toString(8)}): run sudo chmod u+rwx ${p}`);
        continue;
      }
      const blocked = unsearchableAncestor(p, uid, gid);
      if (blocked) {
        problem(`${what} cannot be reached by the service uid ${uid}: ${blocked} is not searchable by it; run sudo chmod o+x ${blocked}`);
        continue;
      }
      try {
        fs.accessSync(p, fs.constants.W_OK); // root passes mode bits, but not a read-only mount
      } catch (err) {
        if (code(err) === 'EROFS') {
          problem(`${what} is on a read-only filesystem: mount it read-write`);
          continue;
        }
      }
    }
    if (t.walk) {
      const foreign = foreignEntry(p, uid);
      if (foreign) {
        problem(`${what} holds ${foreign.path}, owned by uid ${foreign.uid}, not the service uid ${uid} (was imaged started as another user?): run sudo chown -R ${owner} ${p}`);
        continue;
      }
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
