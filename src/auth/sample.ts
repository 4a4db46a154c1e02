// Policy listings in the exact text oslo.policy's generators print: the commented sample of
// oslopolicy-sample-generator (Debian ships Glance's as /etc/glance/policy.d/00_default_policy.yaml)
// and the plain "name": "check" lines of oslopolicy-policy-generator.
import type { RuleDefault } from './glance-defaults.js';

/** oslopolicy-sample-generator's YAML for these defaults, every rule commented out. */
export function sampleYaml(defaults: readonly RuleDefault[]): string {
  return defaults.map(sampleEntry).join('');
}

/** oslopolicy-policy-generator's listing: one "name": "check" line per rule. */
export function ruleLines(rules: ReadonlyArray<readonly [string, string]>): string {
  return rules.map(([name, check]) => `"${name}": "${check}"\n`).join('');
}

function sampleEntry(d: RuleDefault): string {
  let text = `"${d.name}": "${d.checkStr}"\n`;
  const ops = (d.operations ?? []).filter((o) => o.method && o.path).map((o) => `# ${o.method}  ${o.path}\n`).join('');
  const scope = d.scopeTypes ? `# Intended scope(s): ${d.scopeTypes.join(', ')}\n` : '';
  text = `${ops}${scope}#${text}\n`;
  if (d.description) text = `${helpText(d.description)}\n${text}`;

  if (d.deprecatedForRemoval) {
    return `# DEPRECATED\n# "${d.name}" has been deprecated since ${d.deprecatedSince}.\n${helpText(d.deprecatedReason)}\n${text}`;
  }
  const dr = d.deprecatedRule;
  if (!dr) return text;
  const since = dr.since ?? d.deprecatedSince;
  const said = `"${dr.name}":"${dr.checkStr}" has been deprecated since ${since} in favor of "${d.name}":"${d.checkStr}".`;
  text += `# DEPRECATED\n${helpText(said)}\n${helpText(dr.reason ?? d.deprecatedReason)}\n`;
  if (d.name !== dr.name) {
    text +=
      '# WARNING: A rule name change has been identified.\n' +
      '#          This may be an artifact of new rules being\n' +
      '#          included which require legacy fallback\n' +
      '#          rules to ensure proper policy behavior.\n' +
      '#          Alternatively, this may just be an alias.\n' +
      '#          Please evaluate on a case by case basis\n' +
      '#          keeping in mind the format for aliased\n' +
      '#          rules is:\n' +
      '#          "old_rule_name": "new_rule_name".\n' +
      `# "${dr.name}": "rule:${d.name}"\n`;
  }
  return text + '\n';
}

/** oslo's _format_help_text: paragraphs wrapped at 70 columns behind "# ", indented lines kept as they are. */
function helpText(description: string | undefined): string {
  if (!description) return '#';
  const out: string[] = [];
  let paragraph: string[] = [];
  const flush = () => out.push(...wrap(paragraph.join(' '), 70, '# '));
  for (const line of pyStrip(description).split(/\r\n|\r|\n/)) {
    if (!line.trim()) {
      flush();
      out.push('#');
      paragraph = [];
    } else if (line.length === line.trimStart().length) {
      paragraph.push(line.trimEnd());
    } else {
      if (paragraph.length) {
        flush();
        out.push('#');
        paragraph = [];
      }
      out.push(`# ${line.trimEnd()}`);
    }
  }
  if (paragraph.length) flush();
  return out.join('\n');
}

const pyStrip = (s: string) => s.replace(/^[\t\n\x0b\x0c\r ]+|[\t\n\x0b\x0c\r ]+$/g, '');

// Python's textwrap chunking with break_on_hyphens: whitespace runs, em-dashes, words split after hyphens.
const WS = '[\\t\\n\\x0b\\x0c\\r ]';
const NWS = '[^\\t\\n\\x0b\\x0c\\r ]';
const LT = '[^\\d\\W]';
const WP = `[\\w!"'&.,?]`;
const WORDSEP = new RegExp(
  `(${WS}+|(?<=${WP})-{2,}(?=\\w)|${NWS}+?(?:-(?:(?<=${LT}{2}-)|(?<=${LT}-${LT}-))(?=${LT}-?${LT})|(?=${WS}|$)|(?<=${WP})(?=-{2,}\\w)))`,
);

/** textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent) with Python's defaults. */
export function wrap(text: string, width: number, indent: string): string[] {
  const chunks = text
    .replace(/\t/g, '        ')
    .replace(/[\t\n\x0b\x0c\r]/g, ' ')
    .split(WORDSEP)
    .filter((c) => c !== '' && c !== undefined)
    .reverse();
  const lines: string[] = [];
  while (chunks.length) {
    const cur: string[] = [];
    let len = 0;
    const room = width - indent.length;
    if (lines.length && chunks[chunks.length - 1].trim() === '') chunks.pop();
    while (chunks.length && len + chunks[chunks.length - 1].length <= room) {
      const c = chunks.pop()!;
      cur.push(c);
      len += c.length;
    }
    if (chunks.length && chunks[chunks.length - 1].length > room) {
      // a word longer than a line: cut it, after a hyphen when there is one
      const spaceLeft = room < 1 ? 1 : room - len;
      const chunk = chunks[chunks.length - 1];
      let end = spaceLeft;
      if (chunk.length > spaceLeft) {
        const hyphen = chunk.lastIndexOf('-', spaceLeft - 1);
        if (hyphen > 0 && /[^-]/.test(chunk.slice(0, hyphen))) end = hyphen + 1;
      }
      cur.push(chunk.slice(0, end));
      chunks[chunks.length - 1] = chunk.slice(end);
    }
    if (cur.length && cur[cur.length - 1].trim() === '') cur.pop();
    if (cur.length) lines.push(indent + cur.join(''));
  }
  return lines;
}
