// Warnings for options nobody reads. Only the sections imaged interprets are
// checked; when a name is known elsewhere the warning says where it belongs,
// since a misplaced option is the usual cause.
import type { OptionReader } from './reader.js';
import {
  DEFAULT_IGNORED,
  DEFAULT_IGNORED_PREFIXES,
  DEFAULT_OPTS,
  DEFAULT_SPECIAL,
  GLANCE_STORE_GENERAL,
  IMAGED_OPTS,
  STORE_COMMON_OPTS,
  STORE_DRIVER_PREFIXES,
  fileStoreOptionNames,
} from './schema.js';
import type { StoreSelection } from './stores.js';

type Known = (name: string) => boolean;

const inSet = (names: Iterable<string>): Known => {
  const set = new Set(names);
  return (n) => set.has(n);
};
const withPrefix = (prefixes: string[]): Known => (n) => prefixes.some((p) => n.startsWith(p));
const any = (...fs: Known[]): Known => (n) => fs.some((f) => f(n));

const defaultKnown = any(inSet(Object.keys(DEFAULT_OPTS)), inSet(DEFAULT_SPECIAL), inSet(DEFAULT_IGNORED), withPrefix(DEFAULT_IGNORED_PREFIXES));
const imagedKnown = inSet(Object.keys(IMAGED_OPTS));
const fileKnown = inSet(fileStoreOptionNames());
const storeCommonKnown = inSet(Object.keys(STORE_COMMON_OPTS));
const glanceStoreKnown = any(inSet(GLANCE_STORE_GENERAL), fileKnown, withPrefix(STORE_DRIVER_PREFIXES));

export function warnUnknownOptions(r: OptionReader, sel: StoreSelection): void {
  const backendSection = sel.storeSections.keys().next().value ?? 'backend id';
  const belongs = (name: string, here: string): string | undefined => {
    const candidates: Array<[string, Known]> = [
      ['DEFAULT', defaultKnown],
      ['imaged', imagedKnown],
      ['glance_store', glanceStoreKnown],
    ];
    for (const [section, known] of candidates) if (section !== here && known(name)) return `[${section}]`;
    if (storeCommonKnown(name) || (sel.multiStore && fileKnown(name))) {
      return `a backend section such as [${backendSection}] (with [DEFAULT] enabled_backends)`;
    }
    return undefined;
  };

  const checked: Array<[string, Known]> = [
    ['DEFAULT', defaultKnown],
    ['glance_store', glanceStoreKnown],
    ['imaged', imagedKnown],
    ...[...sel.storeSections].map(([s, names]): [string, Known] => [s, inSet(names)]),
  ];
  for (const [section, known] of checked) {
    for (const name of r.raw.sections.get(section)?.keys() ?? []) {
      if (known(name)) continue;
      const where = belongs(name, section);
      r.warn(section, name, where ? `not a [${section}] option, ignored; it belongs in ${where}` : 'unknown option, ignored');
    }
  }
}
