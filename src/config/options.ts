// Option value types with oslo.config's parsing rules. parse() throws
// OptError with a message that reads well after "section.option: ".

export class OptError extends Error {}

export interface Opt<T> {
  readonly default: T;
  /** an empty value ("bind_port =") means "use the default" instead of an error */
  readonly emptyIsDefault: boolean;
  parse(raw: string): T;
  /** back to config-file text, for the effective-config dump */
  format(value: T): string;
}

const q = (raw: string) => JSON.stringify(raw);

export function str(def: string, opts: { choices?: readonly string[] } = {}): Opt<string> {
  return {
    default: def,
    emptyIsDefault: false,
    parse(raw) {
      if (opts.choices && !opts.choices.includes(raw)) {
        throw new OptError(`invalid value ${q(raw)}: expected one of ${opts.choices.join(', ')}`);
      }
      return raw;
    },
    format: (v) => v,
  };
}

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

export function parseBool(raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new OptError(`invalid value ${q(raw)}: expected a boolean (true/false, yes/no, on/off, 1/0)`);
}

export function bool(def: boolean): Opt<boolean> {
  return { default: def, emptyIsDefault: true, parse: parseBool, format: (v) => (v ? 'true' : 'false') };
}

export function parseInteger(raw: string, bounds: { min?: number; max?: number } = {}): number {
  const v = raw.trim();
  // plain decimal like python's int(); leading zeros allowed ("0640" is 640)
  if (!/^[+-]?\d+$/.test(v)) throw new OptError(`invalid value ${q(raw)}: expected an integer`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new OptError(`invalid value ${q(raw)}: too large (at most ${Number.MAX_SAFE_INTEGER})`);
  const { min, max } = bounds;
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    const range =
      min !== undefined && max !== undefined ? `between ${min} and ${max}` : min !== undefined ? `at least ${min}` : `at most ${max}`;
    throw new OptError(`invalid value ${q(raw)}: must be ${range}`);
  }
  return n;
}

export function int(def: number, bounds: { min?: number; max?: number } = {}): Opt<number> {
  return { default: def, emptyIsDefault: true, parse: (raw) => parseInteger(raw, bounds), format: String };
}

/**
 * oslo ListOpt: comma-separated, optionally inside [brackets] (glance's
 * enabled_import_methods insists on them, we accept both); items are trimmed,
 * unquoted, and empty items dropped.
 */
export function parseList(raw: string): string[] {
  let v = raw.trim();
  const open = v.startsWith('[');
  const close = v.endsWith(']');
  if (open !== close) throw new OptError(`invalid value ${q(raw)}: unbalanced brackets in list`);
  if (open) v = v.slice(1, -1);
  return v
    .split(',')
    .map((s) => s.trim())
    .map((s) => (s.length >= 2 && s[0] === s[s.length - 1] && (s[0] === '"' || s[0] === "'") ? s.slice(1, -1) : s))
    .filter((s) => s !== '');
}

export function list(def: readonly string[], opts: { bracketed?: boolean } = {}): Opt<string[]> {
  return {
    default: [...def],
    emptyIsDefault: false,
    parse: parseList,
    format: (v) => (opts.bracketed ? `[${v.join(',')}]` : v.join(',')),
  };
}

/** oslo DictOpt as used by enabled_backends: "id:type, id2:type2", kept in order. */
export function parsePairs(raw: string): Array<[string, string]> {
  return parseList(raw).map((item) => {
    const at = item.indexOf(':');
    if (at < 0) throw new OptError(`invalid entry ${q(item)}: expected id:type`);
    const k = item.slice(0, at).trim();
    const v = item.slice(at + 1).trim();
    if (!k || !v) throw new OptError(`invalid entry ${q(item)}: expected id:type`);
    return [k, v];
  });
}
