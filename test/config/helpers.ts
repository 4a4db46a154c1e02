// Shared helpers for the config tests (no tests in here).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type ConfigProblem, type LoadResult } from '../../src/config/index.js';

export const fixture = (...p: string[]) => path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', ...p);

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** a fresh temp dir, removed when the test process exits */
export function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'imaged-config-'));
  made.push(d);
  return d;
}

/** Load config text written to a temp file (several texts = several --config-file, in order). */
export function loadText(...texts: string[]): LoadResult {
  const dir = tmpDir();
  const files = texts.map((t, i) => {
    const f = path.join(dir, `${i}.conf`);
    fs.writeFileSync(f, t);
    return f;
  });
  return loadConfig({ configFiles: files, configDirs: [] });
}

export const errors = (r: LoadResult): ConfigProblem[] => r.problems.filter((p) => p.level === 'error');
export const warnings = (r: LoadResult): ConfigProblem[] => r.problems.filter((p) => p.level === 'warning');
export const options = (ps: ConfigProblem[]): string[] => ps.map((p) => p.option);
export const find = (r: LoadResult, option: string): ConfigProblem | undefined => r.problems.find((p) => p.option === option);
