// Finding and reading policy files as oslo.policy does: policy_file and policy_dirs are
// looked up like oslo.config's find_file, every file is JSON or YAML mapping rule names
// to check strings, and a policy directory's files are read in sorted order. Unlike
// oslo.policy, which logs a rule it cannot parse and denies it, every problem here is
// reported with the file, the line and the rule name, so startup can stop on it.
import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { parseRule, RuleSyntaxError, type Check } from './rules.js';

export interface PolicyProblem {
  level: 'error' | 'warning';
  message: string;
  file?: string;
  line?: number;
  /** the policy (rule name) the problem is about */
  rule?: string;
}

export interface FileRule {
  name: string;
  /** as written: a check string, or the legacy list of lists */
  value: string | unknown[];
  check: Check;
  file: string;
  line: number;
}

/** oslo.config's find_file: an absolute path as it is, a relative one in the first directory holding it. */
export function findFile(name: string, dirs: readonly string[]): string | undefined {
  if (path.isAbsolute(name)) return fs.existsSync(name) ? name : undefined;
  for (const d of dirs) {
    const p = path.join(d, name);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** A policy directory's files in the order oslo.policy reads them: sorted, no dotfiles, no subdirectories. */
export function policyDirFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && !e.isDirectory() && !(e.isSymbolicLink() && isDir(path.join(dir, e.name))))
    .map((e) => e.name)
    .sort()
    .map((n) => path.join(dir, n));
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException)?.code ?? String(err);

/** Reads one policy file; rules that cannot be used are left out and reported. */
export function readPolicyFile(file: string, problems: PolicyProblem[]): FileRule[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    problems.push({ level: 'error', file, message: `cannot read the policy file (${errno(err)})` });
    return [];
  }
  return parsePolicyText(text, file, problems);
}

export function parsePolicyText(text: string, file: string, problems: PolicyProblem[]): FileRule[] {
  // oslo.policy tries JSON first (deprecated since Victoria), then YAML; JSON is YAML too, so one parser gives lines
  let json = false;
  try {
    JSON.parse(text);
    json = true;
  } catch {
    /* YAML */
  }
  if (json) {
    problems.push({ level: 'warning', file, message: 'JSON policy files are deprecated since Victoria; convert it with oslopolicy-convert-json-to-yaml' });
  }
  const lines = new LineCounter();
  // YAML 1.1 as PyYAML reads it; duplicate names are allowed there (the last wins)
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: false, lineCounter: lines, prettyErrors: false });
  const lineOf = (n: Node | null | undefined) => (n?.range ? lines.linePos(n.range[0]).line : 1);
  if (doc.errors.length) {
    const e = doc.errors[0];
    problems.push({ level: 'error', file, line: lines.linePos(e.pos[0]).line, message: `not valid ${json ? 'JSON' : 'YAML'}: ${e.message.split('\n')[0]}` });
    return [];
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return [];
  if (!isMap(root)) {
    problems.push({ level: 'error', file, line: lineOf(root as Node), message: 'a policy file must map rule names to check strings' });
    return [];
  }
  const out = new Map<string, FileRule>();
  for (const pair of root.items) {
    const key = pair.key as Node | null;
    const name = isScalar(key) ? String(key.value) : String(key);
    const line = lineOf(key);
    const bad = (message: string, l = line) => problems.push({ level: 'error', file, line: l, rule: name, message });
    const v = pair.value as Node | null;
    let value: string | unknown[];
    // "name:" with no value is None to PyYAML, which oslo.policy parses as an empty rule: always
    if (v === null || (isScalar(v) && v.value === null)) value = '';
    else if (isScalar(v) && typeof v.value === 'string') value = v.value;
    else if (isSeq(v)) value = v.toJSON() as unknown[];
    else {
      bad(`expected a check string, found ${isScalar(v) ? JSON.stringify(v.value) : 'a mapping'}`, lineOf(v));
      continue;
    }
    let check: Check;
    try {
      check = parseRule(value);
    } catch (err) {
      if (!(err instanceof RuleSyntaxError)) throw err;
      const shown = typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
      bad(`cannot parse ${shown}${typeof value === 'string' ? ` at column ${err.column}` : ''}: ${err.reason}`, lineOf(v));
      continue;
    }
    if (out.has(name)) {
      problems.push({ level: 'warning', file, line, rule: name, message: `defined again (line ${out.get(name)!.line} is ignored)` });
    }
    out.set(name, { name, value, check, file, line });
  }
  return [...out.values()];
}
