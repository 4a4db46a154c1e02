// oslo.policy's rule language: parsing a check string into a tree and compiling
// the tree into a function of (creds, target). The tokenizer and the greedy
// shift-reduce parser follow oslo.policy 4.0 (_parser.py) step by step, so a rule
// gets the same tree (and the same and/or grouping) as in Glance; only where
// oslo.policy logs "Failed to understand rule" and denies, or would raise at
// request time, this parser throws a RuleSyntaxError with the column instead.
import { pyFloat, pyStr } from './pystr.js';

export type Creds = Record<string, unknown>;
export type Target = Record<string, unknown>;

export type Check =
  | { readonly type: 'true' }
  | { readonly type: 'false' }
  | { readonly type: 'not'; readonly rule: Check }
  | { readonly type: 'and' | 'or'; readonly rules: Check[] }
  /** rule:NAME */
  | { readonly type: 'rule'; readonly name: string }
  /** role:MATCH, case-insensitive */
  | { readonly type: 'role'; readonly match: string }
  /** KIND:MATCH: a Python literal or a dotted path into the creds, compared with the %-substituted match */
  | { readonly type: 'generic'; readonly kind: string; readonly match: string };

export class RuleSyntaxError extends Error {
  constructor(
    readonly reason: string,
    /** 0-based offset in the rule string */
    readonly offset: number,
  ) {
    super(`${reason} (column ${offset + 1})`);
  }
  get column(): number {
    return this.offset + 1;
  }
}

const TRUE: Check = { type: 'true' };
const FALSE: Check = { type: 'false' };

/** oslo.policy's str() of a check tree, e.g. "(role:admin or (role:member and project_id:%(project_id)s))". */
export function checkToString(c: Check): string {
  switch (c.type) {
    case 'true': return '@';
    case 'false': return '!';
    case 'not': return `not ${checkToString(c.rule)}`;
    case 'and': case 'or': return `(${c.rules.map(checkToString).join(` ${c.type} `)})`;
    case 'rule': return `rule:${c.name}`;
    case 'role': return `role:${c.match}`;
    case 'generic': return `${c.kind}:${c.match}`;
  }
}

/** The names a tree refers to with rule:NAME. */
export function ruleRefs(c: Check, out: string[] = []): string[] {
  if (c.type === 'rule') out.push(c.name);
  else if (c.type === 'not') ruleRefs(c.rule, out);
  else if (c.type === 'and' || c.type === 'or') for (const r of c.rules) ruleRefs(r, out);
  return out;
}

// ------------------------------------------------------------------ parsing

/**
 * Parses a rule as oslo.policy's parse_rule: a string in the policy language, or the
 * legacy list-of-lists form (outer list = or, inner list = and, each item one check).
 * An empty string or list means "always".
 */
export function parseRule(rule: string | readonly unknown[]): Check {
  if (typeof rule === 'string') return parseText(rule);
  return parseList(rule);
}

function parseList(rule: readonly unknown[]): Check {
  if (rule.length === 0) return TRUE;
  const ors: Check[] = [];
  rule.forEach((inner, i) => {
    const items = typeof inner === 'string' ? [inner] : Array.isArray(inner) ? inner : undefined;
    if (!items) throw new RuleSyntaxError(`item ${i + 1} of the list rule is neither a check string nor a list of them`, 0);
    if (items.length === 0) return;
    const ands = items.map((item, j) => {
      if (typeof item !== 'string') throw new RuleSyntaxError(`item ${j + 1} of list ${i + 1} is not a check string`, 0);
      return parseCheck(item, 0);
    });
    ors.push(ands.length === 1 ? ands[0] : { type: 'and', rules: ands });
  });
  if (ors.length === 0) return FALSE;
  return ors.length === 1 ? ors[0] : { type: 'or', rules: ors };
}

type Tok = '(' | ')' | 'and' | 'or' | 'not' | 'check' | 'string' | 'and_expr' | 'or_expr';
interface Token {
  tok: Tok;
  value: unknown;
  offset: number;
}

/** oslo's _parse_tokenize: split at whitespace, peel parentheses off both ends of each word. */
function tokenize(rule: string): Token[] {
  const out: Token[] = [];
  for (const m of rule.matchAll(/\S+/g)) {
    const word = m[0];
    let at = m.index!;
    let clean = word.replace(/^\(+/, '');
    for (let i = 0; i < word.length - clean.length; i++) out.push({ tok: '(', value: '(', offset: at + i });
    if (!clean) continue;
    at += word.length - clean.length;
    const tok = clean;
    clean = tok.replace(/\)+$/, '');
    const trail = tok.length - clean.length;
    const lowered = clean.toLowerCase();
    if (lowered === 'and' || lowered === 'or' || lowered === 'not') {
      out.push({ tok: lowered, value: clean, offset: at });
    } else if (clean) {
      // oslo tests the quotes on the word with its trailing parentheses still on
      if (tok.length >= 2 && (tok[0] === '"' || tok[0] === "'") && tok[tok.length - 1] === tok[0]) {
        out.push({ tok: 'string', value: tok.slice(1, -1), offset: at });
      } else {
        out.push({ tok: 'check', value: parseCheck(clean, at), offset: at });
      }
    }
    for (let i = 0; i < trail; i++) out.push({ tok: ')', value: ')', offset: at + clean.length + i });
  }
  return out;
}

/** oslo's _parse_check: one "kind:match" word, or @ / !. */
function parseCheck(word: string, at: number): Check {
  if (word === '!') return FALSE;
  if (word === '@') return TRUE;
  const colon = word.indexOf(':');
  if (colon < 0) throw new RuleSyntaxError(`"${word}" is not a check: expected kind:match (e.g. role:admin, rule:name), @ or !`, at);
  const kind = word.slice(0, colon);
  const match = word.slice(colon + 1);
  if (kind === 'http' || kind === 'https') throw new RuleSyntaxError(`${kind}: checks (a remote policy server) are not supported by imaged`, at);
  if (kind === 'rule') return { type: 'rule', name: match };
  checkMatch(match, at + colon + 1);
  if (kind === 'role') return { type: 'role', match };
  literalOf(kind, at); // throws where Python could not even parse the kind
  return { type: 'generic', kind, match };
}

type Reducer = [Tok[], (...v: any[]) => Array<[Tok, unknown]>];
type AndOr = { type: 'and' | 'or'; rules: Check[] };

// oslo's ParseState reducers, in the order oslo tries them.
const REDUCERS: Reducer[] = [
  [['(', 'or_expr', ')'], (_a, c) => [['check', c]]],
  [['(', 'and_expr', ')'], (_a, c) => [['check', c]]],
  [['(', 'check', ')'], (_a, c) => [['check', c]]],
  [['check', 'and', 'check'], (a, _x, b) => [['and_expr', { type: 'and', rules: [a, b] }]]],
  [['or_expr', 'and', 'check'], (or: AndOr, _x, c) => {
    const last = or.rules.pop()!;
    const and: AndOr = last.type === 'and' ? (last as AndOr) : { type: 'and', rules: [last] };
    and.rules.push(c);
    or.rules.push(and);
    return [['or_expr', or]];
  }],
  [['and_expr', 'and', 'check'], (and: AndOr, _x, c) => (and.rules.push(c), [['and_expr', and]])],
  [['and_expr', 'or', 'check'], (a, _x, b) => [['or_expr', { type: 'or', rules: [a, b] }]]],
  [['check', 'or', 'check'], (a, _x, b) => [['or_expr', { type: 'or', rules: [a, b] }]]],
  [['or_expr', 'or', 'check'], (or: AndOr, _x, c) => (or.rules.push(c), [['or_expr', or]])],
  [['not', 'check'], (_n, c) => [['check', { type: 'not', rule: c }]]],
];

function parseText(rule: string): Check {
  if (rule === '') return TRUE;
  const tokens = tokenize(rule);
  const toks: Tok[] = [];
  const values: unknown[] = [];
  for (const t of tokens) {
    toks.push(t.tok);
    values.push(t.value);
    reduce(toks, values);
  }
  if (toks.length === 1 && (toks[0] === 'check' || toks[0] === 'and_expr' || toks[0] === 'or_expr')) return values[0] as Check;
  throw diagnose(rule, tokens);
}

function reduce(toks: Tok[], values: unknown[]): void {
  for (;;) {
    const r = REDUCERS.find(([seq]) => seq.length <= toks.length && seq.every((s, i) => toks[toks.length - seq.length + i] === s));
    if (!r) return;
    const n = r[0].length;
    const results = r[1](...values.slice(-n));
    toks.splice(-n, n, ...results.map((x) => x[0]));
    values.splice(-n, n, ...results.map((x) => x[1]));
  }
}

/** Why the greedy parse did not end in one check: the first token out of place. */
function diagnose(rule: string, tokens: Token[]): RuleSyntaxError {
  if (tokens.length === 0) return new RuleSyntaxError('the rule is blank; write "" or "@" to allow everyone', 0);
  const open: number[] = [];
  let wantOperand = true;
  let prev: Token | undefined;
  for (const t of tokens) {
    if (t.tok === 'string') return new RuleSyntaxError(`a quoted string ("${t.value}") is not a check`, t.offset);
    if (wantOperand) {
      if (t.tok === 'check') wantOperand = false;
      else if (t.tok === '(') open.push(t.offset);
      else if (t.tok === ')') return new RuleSyntaxError(prev?.tok === '(' ? 'empty parentheses' : `expected a check before ")"`, t.offset);
      else if (t.tok === 'and' || t.tok === 'or') return new RuleSyntaxError(`"${t.value}" needs a check before it`, t.offset);
    } else if (t.tok === 'and' || t.tok === 'or') {
      wantOperand = true;
    } else if (t.tok === ')') {
      if (open.length === 0) return new RuleSyntaxError('")" without a matching "("', t.offset);
      open.pop();
    } else {
      return new RuleSyntaxError(`expected "and" or "or" before this`, t.offset);
    }
    prev = t;
  }
  if (wantOperand) return new RuleSyntaxError(`the rule ends after "${prev!.value}"; a check must follow`, prev!.offset);
  if (open.length) return new RuleSyntaxError('"(" is never closed', open[open.length - 1]);
  return new RuleSyntaxError('cannot parse the rule', 0);
}

// ------------------------------------------------------------------ match strings and kinds

type Template = string | { key: string } | Array<string | { key: string }>;

/** Python's "match % target" with only %(key)s and %% (the forms policy files use). */
function compileTemplate(match: string, at = 0): Template {
  if (!match.includes('%')) return match;
  const parts: Array<string | { key: string }> = [];
  let lit = '';
  for (let i = 0; i < match.length; i++) {
    const ch = match[i];
    if (ch !== '%') {
      lit += ch;
      continue;
    }
    if (match[i + 1] === '%') {
      lit += '%';
      i++;
      continue;
    }
    if (match[i + 1] !== '(') throw new RuleSyntaxError('"%" in a match must start %(name)s (or be doubled: %%)', at + i);
    // Python lets the key hold balanced parentheses
    let depth = 1;
    let j = i + 2;
    for (; j < match.length && depth > 0; j++) {
      if (match[j] === '(') depth++;
      else if (match[j] === ')') depth--;
    }
    if (depth > 0) throw new RuleSyntaxError('unterminated %(name)s', at + i);
    if (match[j] !== 's') throw new RuleSyntaxError('only %(name)s substitutions are supported', at + i);
    if (lit) parts.push(lit);
    lit = '';
    parts.push({ key: match.slice(i + 2, j - 1) });
    i = j;
  }
  if (lit) parts.push(lit);
  return parts.length === 1 ? parts[0] : parts;
}

function checkMatch(match: string, at: number): void {
  compileTemplate(match, at);
}

const hasOwn = Object.prototype.hasOwnProperty;

/** The substituted match, or undefined where Python raises KeyError (a missing target key: the check is False). */
function substitute(t: Template, target: Target): string | undefined {
  if (typeof t === 'string') return t;
  if (!Array.isArray(t)) {
    if (!hasOwn.call(target, t.key)) return undefined;
    const v = target[t.key];
    return v === undefined ? undefined : pyStr(v);
  }
  let s = '';
  for (const p of t) {
    if (typeof p === 'string') s += p;
    else {
      if (!hasOwn.call(target, p.key)) return undefined;
      const v = target[p.key];
      if (v === undefined) return undefined;
      s += pyStr(v);
    }
  }
  return s;
}

const PY_KEYWORDS = new Set(
  'and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(' '),
);

/**
 * A generic check's kind is tried as a Python literal first (ast.literal_eval): then the
 * check compares the match with str(literal). Returns that string, or undefined when
 * the kind is a creds path. Kinds Python cannot parse at all throw.
 */
export function literalOf(kind: string, at = 0): string | undefined {
  const bad = (why: string) => new RuleSyntaxError(`"${kind}:" ${why}`, at);
  if (kind === '') throw bad('has no kind before the colon');
  if (kind === 'True' || kind === 'False' || kind === 'None') return kind;
  const q = kind[0];
  if (q === "'" || q === '"' || /^[uUrR]['"]/.test(kind)) {
    const raw = /^[rR]/.test(kind);
    const body = /^[uUrR]/.test(kind) ? kind.slice(1) : kind;
    const quote = body[0];
    if (body.length < 2 || body[body.length - 1] !== quote) throw bad('is an unterminated string');
    const inner = body.slice(1, -1);
    if (raw) return inner;
    return inner.replace(/\\(.)/gs, (all, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' })[c] ?? all);
  }
  const num = pyNumberLiteral(kind);
  if (num !== undefined) return num;
  if (/^[+-]?[0-9.]/.test(kind)) throw bad('is not a valid Python number');
  if (/^[[({]/.test(kind)) throw bad('is a container literal, which imaged does not support');
  for (const seg of kind.split('.')) {
    if (seg === '' || /^[0-9]/.test(seg) || PY_KEYWORDS.has(seg)) throw bad('is neither a Python literal nor a dotted creds name');
  }
  return undefined;
}

function pyNumberLiteral(s: string): string | undefined {
  const sign = s[0] === '-' ? '-' : '';
  const body = s[0] === '-' || s[0] === '+' ? s.slice(1) : s;
  const digits = (re: string) => new RegExp(`^${re}(?:_?${re})*$`);
  let m: RegExpExecArray | null;
  if ((m = /^0([xXoObB])(.+)$/.exec(body))) {
    const re = { x: '[0-9a-fA-F]', o: '[0-7]', b: '[01]' }[m[1].toLowerCase() as 'x' | 'o' | 'b'];
    const d = m[2].replace(/^_/, '');
    if (!digits(re).test(d)) return undefined;
    const v = BigInt(`0${m[1].toLowerCase()}${d.replace(/_/g, '')}`);
    return (sign && v !== 0n ? '-' : '') + v.toString();
  }
  if (/^(0(_?0)*|[1-9](_?[0-9])*)$/.test(body)) {
    const v = BigInt(body.replace(/_/g, ''));
    return (sign && v !== 0n ? '-' : '') + v.toString();
  }
  const d = '[0-9](?:_?[0-9])*';
  if (new RegExp(`^(?:(?:${d})?\\.${d}|${d}\\.?)(?:[eE][+-]?${d})?$`).test(body) && /[.eE]/.test(body)) {
    const v = Number(sign + body.replace(/_/g, ''));
    return Object.is(v, -0) ? '-0.0' : pyFloat(v);
  }
  return undefined;
}

// ------------------------------------------------------------------ evaluation

export type Evaluator = (creds: Creds, target: Target) => boolean;

/** Lower-cased roles, cached on creds that imaged builds (Enforcer.creds) so role checks allocate nothing. */
export const ROLES_LOWER = Symbol('rolesLower');

function lowerRoles(creds: Creds): readonly string[] | undefined {
  const cached = (creds as { [ROLES_LOWER]?: readonly string[] })[ROLES_LOWER];
  if (cached) return cached;
  const roles = creds.roles;
  if (!Array.isArray(roles)) return undefined;
  return roles.map((r) => String(r).toLowerCase());
}

/** oslo's GenericCheck._find_in_dict: walk the dotted path; a list on the way matches if any element does. */
function findIn(value: unknown, path: readonly string[], i: number, match: string): boolean {
  if (i === path.length) return match === pyStr(value);
  // Python raises TypeError indexing a non-dict (Glance would answer 500); imaged denies
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  if (!hasOwn.call(value, path[i])) return false;
  const next = (value as Record<string, unknown>)[path[i]];
  if (Array.isArray(next)) {
    for (const x of next) if (findIn(x, path, i + 1, match)) return true;
    return false;
  }
  return findIn(next, path, i + 1, match);
}

/** The last step of _find_in_dict: a list matches when one of its elements prints as the match. */
function matchesValue(v: unknown, m: string): boolean {
  if (typeof v === 'string') return v === m;
  if (Array.isArray(v)) {
    for (const x of v) if (m === pyStr(x)) return true;
    return false;
  }
  return m === pyStr(v);
}

/**
 * Compiles a tree into one function. rule:NAME is resolved through `ref`, called once per
 * reference at compile time; it returns a holder whose `fn` may be filled in later (so rules
 * can refer to rules compiled after them).
 */
export function compile(c: Check, ref: (name: string) => { fn: Evaluator }): Evaluator {
  switch (c.type) {
    case 'true': return () => true;
    case 'false': return () => false;
    case 'not': {
      const f = compile(c.rule, ref);
      return (cr, t) => !f(cr, t);
    }
    case 'and': {
      const fs = c.rules.map((r) => compile(r, ref));
      if (fs.length === 2) {
        const [a, b] = fs;
        return (cr, t) => a(cr, t) && b(cr, t);
      }
      return (cr, t) => {
        for (const f of fs) if (!f(cr, t)) return false;
        return true;
      };
    }
    case 'or': {
      const fs = c.rules.map((r) => compile(r, ref));
      if (fs.length === 2) {
        const [a, b] = fs;
        return (cr, t) => a(cr, t) || b(cr, t);
      }
      return (cr, t) => {
        for (const f of fs) if (f(cr, t)) return true;
        return false;
      };
    }
    case 'rule': {
      const holder = ref(c.name);
      return (cr, t) => holder.fn(cr, t);
    }
    case 'role': {
      const tpl = compileTemplate(c.match);
      const fixed = typeof tpl === 'string' ? tpl.toLowerCase() : undefined;
      return (cr, t) => {
        const m = fixed ?? substitute(tpl, t)?.toLowerCase();
        if (m === undefined) return false;
        const roles = lowerRoles(cr);
        return roles !== undefined && roles.includes(m);
      };
    }
    case 'generic': {
      const tpl = compileTemplate(c.match);
      const literal = literalOf(c.kind);
      if (literal !== undefined) return (_cr, t) => substitute(tpl, t) === literal;
      const path = c.kind.split('.');
      if (path.length === 1) {
        const key = path[0];
        // the common "project_id:%(project_id)s": one target key against one creds key
        const tkey = typeof tpl === 'object' && !Array.isArray(tpl) ? tpl.key : undefined;
        if (tkey !== undefined) {
          return (cr, t) => {
            const tv = t[tkey];
            const cv = cr[key];
            if (typeof tv === 'string' && typeof cv === 'string') return tv === cv && hasOwn.call(t, tkey) && hasOwn.call(cr, key);
            const m = substitute(tpl, t);
            return m !== undefined && hasOwn.call(cr, key) && matchesValue(cv, m);
          };
        }
        return (cr, t) => {
          const m = substitute(tpl, t);
          if (m === undefined || !hasOwn.call(cr, key)) return false;
          return matchesValue(cr[key], m);
        };
      }
      return (cr, t) => {
        const m = substitute(tpl, t);
        return m !== undefined && findIn(cr, path, 0, m);
      };
    }
  }
}
