// Parser for the INI dialect of oslo.config (oslo_config/iniparser.py), not the
// `ini` package: that one strips inline comments, turns "true"/"null" into JS
// values, treats "key[]" as arrays and splits section names on '.', none of
// which glance does. Rules followed here:
//  - "[name]" starts a section; names other than DEFAULT are lower-cased, as
//    oslo normalizes group names;
//  - a line starting with '#' or ';' is a comment (no inline comments);
//  - "key = value" or "key: value", split at whichever of '=' ':' comes first;
//  - one pair of matching surrounding quotes is removed from the value;
//  - an indented line continues the previous value (joined with "\n"); a blank
//    line ends it;
//  - a repeated key keeps the last value.

export interface IniEntry {
  value: string;
  /** 1-based line of the key */
  line: number;
}

export interface IniError {
  line: number;
  message: string;
}

export interface IniFile {
  /** section → option → entry, in file order */
  sections: Map<string, Map<string, IniEntry>>;
  errors: IniError[];
}

export function normalizeSection(name: string): string {
  return name === 'DEFAULT' ? name : name.toLowerCase();
}

function unquote(value: string): string {
  // like oslo, a lone quote character also counts as a (matching) pair
  if (value.length >= 1 && value[0] === value[value.length - 1] && (value[0] === '"' || value[0] === "'")) {
    return value.slice(1, -1);
  }
  return value;
}

export function parseIni(text: string): IniFile {
  const sections = new Map<string, Map<string, IniEntry>>();
  const errors: IniError[] = [];
  let section: Map<string, IniEntry> | undefined;
  // the assignment being collected (it may continue on indented lines)
  let pending: { key: string; parts: string[]; line: number } | undefined;

  const flush = () => {
    if (!pending) return;
    if (!section) {
      errors.push({ line: pending.line, message: `option "${pending.key}" appears before any [section] header` });
    } else {
      section.set(pending.key, { value: pending.parts.join('\n'), line: pending.line });
    }
    pending = undefined;
  };

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trimEnd();
    if (line === '') {
      flush();
      continue;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (pending) pending.parts.push(line.trimStart());
      else errors.push({ line: lineNo, message: 'unexpected continuation line (indented line with nothing to continue)' });
      continue;
    }
    flush();
    if (line[0] === '[') {
      if (!line.endsWith(']')) {
        errors.push({ line: lineNo, message: 'invalid section header (must end with "]")' });
      } else if (line.length <= 2) {
        errors.push({ line: lineNo, message: 'empty section name' });
      } else {
        const name = normalizeSection(line.slice(1, -1));
        section = sections.get(name) ?? new Map();
        sections.set(name, section);
      }
      continue;
    }
    if (line[0] === '#' || line[0] === ';') continue;

    const eq = line.indexOf('=');
    const colon = line.indexOf(':');
    if (eq < 0 && colon < 0) {
      errors.push({ line: lineNo, message: `no "=" or ":" in "${line}"` });
      continue;
    }
    const at = colon < 0 || (eq >= 0 && eq < colon) ? eq : colon;
    const key = line.slice(0, at).trim();
    if (!key) {
      errors.push({ line: lineNo, message: 'empty option name' });
      continue;
    }
    pending = { key, parts: [unquote(line.slice(at + 1).trim())], line: lineNo };
  }
  flush();
  return { sections, errors };
}
