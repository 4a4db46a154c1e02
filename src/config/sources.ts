// Finds and reads the config files the way oslo.config does: --config-file
// and --config-dir in command-line order (a directory's *.conf sorted); later
// files win per (section, option).
import fs from 'node:fs';
import path from 'node:path';
import { parseIni } from './ini.js';
import type { ConfigProblem } from './types.js';

export interface RawValue {
  value: string;
  /** "file:line" */
  where: string;
}

/** The merged view of all files read: section → option → winning value. */
export class RawConfig {
  readonly sections = new Map<string, Map<string, RawValue>>();

  get(section: string, option: string): RawValue | undefined {
    return this.sections.get(section)?.get(option);
  }

  has(section: string, option: string): boolean {
    return this.get(section, option) !== undefined;
  }

  /** option → value of one section, as plain strings */
  sectionValues(section: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.sections.get(section) ?? []) out[k] = v.value;
    return out;
  }

  merge(file: string, text: string, problems: ConfigProblem[]): void {
    const parsed = parseIni(text);
    for (const e of parsed.errors) {
      problems.push({ level: 'error', option: '--config-file', message: `cannot parse ${file}: ${e.message}`, source: `${file}:${e.line}` });
    }
    for (const [name, entries] of parsed.sections) {
      let target = this.sections.get(name);
      if (!target) this.sections.set(name, (target = new Map()));
      for (const [key, e] of entries) target.set(key, { value: e.value, where: `${file}:${e.line}` });
    }
  }
}

/** The *.conf files of a directory, sorted, as oslo's sorted(glob('*.conf')) (which skips dotfiles). */
function confFilesIn(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.conf') && !name.startsWith('.') && isFile(path.join(dir, name)))
    .sort()
    .map((n) => path.join(dir, n));
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? String(err);
}

/** One --config-file or --config-dir, in the order given on the command line. */
export interface ConfigArg {
  kind: 'file' | 'dir';
  path: string;
}

export interface SourceOptions {
  /** command-line order; when absent, configFiles then configDirs */
  args?: ConfigArg[];
  configFiles?: string[];
  configDirs?: string[];
}

export function configArgs(opts: SourceOptions): ConfigArg[] {
  return (
    opts.args ?? [
      ...(opts.configFiles ?? []).map((p): ConfigArg => ({ kind: 'file', path: p })),
      ...(opts.configDirs ?? []).map((p): ConfigArg => ({ kind: 'dir', path: p })),
    ]
  );
}

export function readSources(opts: SourceOptions, problems: ConfigProblem[]): { raw: RawConfig; sources: string[] } {
  const raw = new RawConfig();
  const sources: string[] = [];

  const readOne = (file: string, option: string) => {
    let text: string;
    try {
      if (fs.statSync(file).isDirectory()) {
        problems.push({ level: 'error', option, message: `${file} is a directory, not a config file (use --config-dir for directories)` });
        return;
      }
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const why = errno(err) === 'ENOENT' ? 'does not exist' : `cannot be read (${errno(err)})`;
      problems.push({ level: 'error', option, message: `config file ${file} ${why}` });
      return;
    }
    sources.push(file);
    raw.merge(file, text, problems);
  };

  const readDir = (dir: string) => {
    let files: string[];
    try {
      if (!fs.statSync(dir).isDirectory()) {
        problems.push({ level: 'error', option: '--config-dir', message: `config dir ${dir} is not a directory` });
        return;
      }
      files = confFilesIn(dir);
    } catch (err) {
      if (errno(err) === 'ENOENT') {
        // oslo.config itself refuses an explicit --config-dir that is missing (it skips only its default dirs);
        // imaged warns instead so that an optional override directory (the unit's) may be absent.
        problems.push({ level: 'warning', option: '--config-dir', message: `config dir ${dir} does not exist; skipped` });
      } else {
        problems.push({ level: 'error', option: '--config-dir', message: `config dir ${dir} cannot be read (${errno(err)})` });
      }
      return;
    }
    for (const f of files) readOne(f, '--config-dir');
  };

  for (const a of configArgs(opts)) {
    if (a.kind === 'file') readOne(path.resolve(a.path), '--config-file');
    else readDir(path.resolve(a.path));
  }
  return { raw, sources };
}
