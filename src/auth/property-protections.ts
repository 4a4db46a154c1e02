// Property protections: [DEFAULT] property_protection_file, read as Glance 25 reads it
// (glance/common/property_utils.py) and applied as glance/api/property_protections.py does: only to extra
// properties; unreadable ones are hidden, the others need create/update/delete permission.
import fs from 'node:fs';
import type { RequestContext } from './context.js';
import type { PatchOp } from '../images/patch.js';
import { BASE_FIELDS } from '../images/record.js';
import { forbidden } from '../util/errors.js';

export const OPERATIONS = ['create', 'read', 'update', 'delete'] as const;
export type Operation = (typeof OPERATIONS)[number];
export type RuleFormat = 'roles' | 'policies';

/** One section of the file: a property-name regex and who may do what (empty = nobody). */
export interface ProtectionRule {
  section: string;
  ops: Record<Operation, string[]>;
}

export interface ProtectionProblem {
  level: 'error' | 'warning';
  section?: string;
  option?: string;
  message: string;
}

/** `(ctx, ruleName) => allowed`: the policy engine, for the 'policies' format. */
export type PolicyCheck = (ctx: RequestContext, rule: string) => boolean;

interface Section {
  name: string;
  options: Map<string, string>;
}

/**
 * Python configparser's defaults (what Glance uses): case-sensitive section names kept in file order, option
 * names lower-cased, '=' or ':' (whichever comes first), whole-line '#'/';' comments, indented continuation
 * lines, [DEFAULT] options inherited by every section, and duplicate sections or options are errors.
 */
function parseConfigParser(text: string): { sections: Section[]; error?: string } {
  const sections: Section[] = [];
  let defaults: Section | null = null;
  let cur: Section | null = null;
  let last: { key: string; indent: number } | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const stripped = raw.trim();
    const indent = raw.length - raw.trimStart().length;
    if (stripped === '' || stripped.startsWith('#') || stripped.startsWith(';')) {
      if (stripped === '') last = null;
      continue;
    }
    if (cur && last && indent > last.indent) {
      cur.options.set(last.key, `${cur.options.get(last.key)}\n${stripped}`);
      continue;
    }
    const header = /^\[(.+)\]$/.exec(stripped);
    if (header && indent === 0) {
      const name = header[1];
      if (name === 'DEFAULT') {
        cur = defaults ??= { name, options: new Map() };
      } else {
        if (sections.some((s) => s.name === name)) return { sections, error: `line ${i + 1}: section [${name}] appears twice` };
        cur = { name, options: new Map() };
        sections.push(cur);
      }
      last = null;
      continue;
    }
    if (!cur) return { sections, error: `line ${i + 1}: no [section] header before ${JSON.stringify(stripped)}` };
    const at = stripped.search(/[=:]/);
    if (at <= 0) return { sections, error: `line ${i + 1}: cannot parse ${JSON.stringify(stripped)}` };
    const key = stripped.slice(0, at).trim().toLowerCase();
    if (cur.options.has(key)) return { sections, error: `line ${i + 1}: option "${key}" appears twice in [${cur.name}]` };
    cur.options.set(key, stripped.slice(at + 1).trim());
    last = { key, indent };
  }
  if (defaults) {
    for (const s of sections) for (const [k, v] of defaults.options) if (!s.options.has(k)) s.options.set(k, v);
  }
  return { sections };
}

/** configparser's BasicInterpolation: '%%' is '%', '%(name)s' another option of the section; a lone '%' is an error. */
function interpolate(value: string, options: Map<string, string>, depth = 0): string {
  if (depth > 10) throw new Error(`interpolation too deep in ${JSON.stringify(value)}`);
  return value.replace(/%(%|\(([^)]*)\)s|)/g, (m, what: string, ref: string | undefined) => {
    if (what === '%') return '%';
    if (ref === undefined) throw new Error(`'%' must be followed by '%' or '(', found ${JSON.stringify(value)}`);
    const v = options.get(ref.toLowerCase());
    if (v === undefined) throw new Error(`bad interpolation reference %(${ref})s`);
    return interpolate(v, options, depth + 1);
  });
}

/** A Python `re` pattern as a JavaScript RegExp (the few spellings that differ). */
export function pythonRegex(pattern: string): RegExp {
  const js = pattern
    .replace(/\(\?P<([A-Za-z_]\w*)>/g, '(?<$1>')
    .replace(/\(\?P=([A-Za-z_]\w*)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '(?![\\s\\S])');
  return new RegExp(js);
}

/** Parses a protection file's text; rules come in file order (the first matching section wins). */
export function parseProtections(text: string, format: RuleFormat, file = 'property protection file'): { rules: ProtectionRule[]; problems: ProtectionProblem[] } {
  const problems: ProtectionProblem[] = [];
  const rules: ProtectionRule[] = [];
  const parsed = parseConfigParser(text);
  if (parsed.error) return { rules, problems: [{ level: 'error', message: `${file}: ${parsed.error}` }] };
  for (const s of parsed.sections) {
    try {
      pythonRegex(s.name);
    } catch (e) {
      problems.push({ level: 'error', section: s.name, message: `${file}: malformed property protection rule [${s.name}]: ${(e as Error).message}` });
      continue;
    }
    const ops = {} as Record<Operation, string[]>;
    for (const op of OPERATIONS) {
      const raw = s.options.get(op);
      if (raw === undefined) {
        problems.push({ level: 'error', section: s.name, option: op, message: `${file}: [${s.name}] has no "${op}" option (every section needs create, read, update and delete)` });
        continue;
      }
      let v: string;
      try {
        v = interpolate(raw, s.options);
      } catch (e) {
        problems.push({ level: 'error', section: s.name, option: op, message: `${file}: [${s.name}] ${op}: ${(e as Error).message}` });
        continue;
      }
      if (v === '') {
        ops[op] = [];
        problems.push({ level: 'warning', section: s.name, option: op, message: `${file}: property protection on operation ${op} for rule ${s.name} is not found. No role will be allowed to perform this operation.` });
      } else if (format === 'policies') {
        if (v.includes(',')) {
          problems.push({ level: 'error', section: s.name, option: op, message: `${file}: [${s.name}] ${op}: multiple policies '${v}' not allowed for a given operation. Policies can be combined in the policy file` });
        }
        ops[op] = [v];
      } else {
        const roles = v.split(',').map((r) => r.trim());
        if (roles.includes('@') && roles.includes('!')) {
          problems.push({ level: 'error', section: s.name, option: op, message: `${file}: malformed property protection rule in [${s.name}] ${op}=${v}: '@' and '!' are mutually exclusive` });
        }
        ops[op] = roles;
      }
    }
    rules.push({ section: s.name, ops });
  }
  return { rules, problems };
}

/** Reads the file; a missing or unreadable file is an error, as Glance refuses to start. */
export function loadProtections(file: string, format: RuleFormat): { rules: ProtectionRule[]; problems: ProtectionProblem[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { rules: [], problems: [{ level: 'error', message: `couldn't read property protection file ${file}: ${(e as Error).message}` }] };
  }
  return parseProtections(text, format, file);
}

/** The loaded rules, answering "may this caller <op> this property?" as PropertyRules.check_property_rules. */
export class PropertyProtections {
  private readonly compiled: Array<{ re: RegExp; rule: ProtectionRule }>;
  /** Policy engine for the 'policies' format; until one is plugged in, named rules deny. */
  policyCheck: PolicyCheck = () => false;

  constructor(rules: ProtectionRule[], readonly format: RuleFormat) {
    this.compiled = rules.map((rule) => ({ re: pythonRegex(rule.section), rule }));
  }

  allows(ctx: RequestContext, property: string, op: Operation): boolean {
    if (this.compiled.length === 0) return true; // an empty file protects nothing
    // re.search, not a full match: sections are regexes anchored only where they say so
    const hit = this.compiled.find((c) => c.re.test(property));
    if (!hit) return false; // a property no section names is nobody's
    const allowed = hit.rule.ops[op];
    if (allowed.length === 0 || allowed.includes('!')) return false;
    if (allowed.includes('@')) return true;
    if (this.format === 'policies') return this.policyCheck(ctx, allowed[0]);
    const mine = new Set(ctx.roles);
    return allowed.some((r) => mine.has(r.toLowerCase()));
  }

  /** Create: every extra property given needs 'create' (Glance's ReservedProperty → 403). */
  checkCreate(ctx: RequestContext, properties: Record<string, unknown>): void {
    for (const k of Object.keys(properties)) if (!this.allows(ctx, k, 'create')) throw reserved(k);
  }

  /** The extra properties this caller may read. */
  readable(ctx: RequestContext, properties: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(properties).filter(([k]) => this.allows(ctx, k, 'read')));
  }
}

const reserved = (k: string) => forbidden(`Attribute '${k}' is reserved.`);

/**
 * PATCH on extra properties as the caller sees them: unreadable ones are hidden (so replacing or removing
 * one is "does not exist", and adding one needs 'create'), and they are kept untouched when the result is
 * stored. `check` runs before each op against the visible map; `result` merges the hidden ones back.
 */
export function protectedPatch(p: PropertyProtections | null, ctx: RequestContext, properties: Record<string, unknown>) {
  if (!p) return { visible: { ...properties }, check: (_op: PatchOp, _visible: Record<string, unknown>) => {}, result: (v: Record<string, unknown>) => v };
  const visible = p.readable(ctx, properties);
  const hidden = Object.fromEntries(Object.entries(properties).filter(([k]) => !(k in visible)));
  return {
    visible,
    check(op: PatchOp, now: Record<string, unknown>) {
      const k = op.path[0];
      if (BASE_FIELDS.has(k)) return; // base attributes are not extra properties: never protected
      if (!(k in now)) {
        if (op.op === 'add' && !p.allows(ctx, k, 'create')) throw reserved(k);
        return; // replace/remove of a missing property: applyOp answers 409
      }
      const need: Operation = op.op === 'remove' ? 'delete' : 'update';
      if (!p.allows(ctx, k, need)) throw reserved(k);
    },
    result: (now: Record<string, unknown>) => ({ ...hidden, ...now }),
  };
}
