// Typed reads from the merged raw config. Bad values become problems naming
// "section.option" and the file:line they came from; the default is returned
// so loading can go on and report every problem at once.
import { withCommentHint } from './comments.js';
import { OptError, type Opt } from './options.js';
import type { RawConfig } from './sources.js';
import type { ConfigProblem } from './types.js';

export type OptValues<S extends Record<string, Opt<unknown>>> = { [K in keyof S]: S[K] extends Opt<infer T> ? T : never };

export class OptionReader {
  constructor(
    readonly raw: RawConfig,
    readonly problems: ConfigProblem[],
  ) {}

  isSet(section: string, name: string): boolean {
    return this.raw.has(section, name);
  }

  /** raw string, or undefined when unset */
  rawValue(section: string, name: string): string | undefined {
    return this.raw.get(section, name)?.value;
  }

  read<T>(section: string, name: string, opt: Opt<T>): T {
    const rv = this.raw.get(section, name);
    if (!rv || (opt.emptyIsDefault && rv.value.trim() === '')) return opt.default;
    try {
      return opt.parse(rv.value);
    } catch (err) {
      if (!(err instanceof OptError)) throw err;
      this.error(section, name, err.message);
      return opt.default;
    }
  }

  readAll<S extends Record<string, Opt<unknown>>>(section: string, specs: S): OptValues<S> {
    const out: Record<string, unknown> = {};
    for (const [name, opt] of Object.entries(specs)) out[name] = this.read(section, name, opt);
    return out as OptValues<S>;
  }

  error(section: string, name: string, message: string): void {
    this.report('error', section, name, message);
  }

  warn(section: string, name: string, message: string): void {
    this.report('warning', section, name, message);
  }

  private report(level: ConfigProblem['level'], section: string, name: string, message: string): void {
    const rv = this.raw.get(section, name);
    const where = rv?.where;
    this.problems.push({ level, option: `${section}.${name}`, message: withCommentHint(message, rv?.value), ...(where ? { source: where } : {}) });
  }
}
