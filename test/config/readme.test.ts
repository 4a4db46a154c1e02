// README.md is the reference operators paste from: its config examples must load as they are, and its table of
// defaults must list every option imaged reads with the default the code uses.
import fs from 'node:fs';
import path from 'node:path';
import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import type { Opt } from '../../src/config/options.js';
import {
  DEFAULT_OPTS, FILE_STORE_OPTS, GLANCE_DEFAULT_DATADIR, IMAGED_OPTS, IMPORT_FILTER_OPTS, OSLO_POLICY_OPTS, RBD_STORE_OPTS, S3_STORE_OPTS,
  STORE_COMMON_OPTS, SWIFT_STORE_OPTS,
} from '../../src/config/schema.js';
import { ROOT } from '../helpers/proc.js';
import { loadText } from './helpers.js';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

test('every ini example in the README loads as pasted: no error, no warning', () => {
  const blocks = [...readme.matchAll(/```ini\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 5, `found ${blocks.length} ini blocks`);
  for (const b of blocks) {
    const r = loadText(b);
    assert.equal(r.problems, [], `this README example:\n${b}`);
    for (const line of b.split('\n')) assert.not.match(line, /^[^#;].*\s#/, `inline comment in: ${line}`);
  }
});

/** option → default cell ("(empty)" for an empty string) from the README's tables */
function readmeDefaults(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of readme.matchAll(/^\| `([a-z0-9_]+)` \| (`[^`]*`|\(empty\)|\(none\)) \|/gm)) {
    out.set(m[1], m[2] === '(empty)' ? '' : m[2].replace(/^`|`$/g, ''));
  }
  return out;
}

test('the README lists every option with the default the code uses', () => {
  const listed = readmeDefaults();
  const groups: Record<string, Record<string, Opt<any>>> = {
    DEFAULT_OPTS, IMAGED_OPTS, IMPORT_FILTER_OPTS, OSLO_POLICY_OPTS, STORE_COMMON_OPTS, FILE_STORE_OPTS, RBD_STORE_OPTS, SWIFT_STORE_OPTS, S3_STORE_OPTS,
  };
  for (const [group, opts] of Object.entries(groups)) {
    for (const [name, opt] of Object.entries(opts)) {
      assert.ok(listed.has(name), `README does not list ${name} (${group})`);
      assert.is(listed.get(name), opt.format(opt.default), `default of ${name}`);
    }
  }
  assert.is(listed.get('filesystem_store_datadir'), GLANCE_DEFAULT_DATADIR);
  assert.is(listed.get('default_store'), 'file');
});

test('the README says where the embedded default keeps its data, how the store of an upload is chosen, and how it stops', () => {
  assert.match(readme, '`./var/images` and the catalog in `./var/state`, both relative to the current directory');
  assert.match(readme, '`X-Image-Meta-Store: <backend id>`');
  assert.match(readme, '`openstack image create` (openstackclient 6.0) has no `--store`');
  assert.match(readme, 'up to `[imaged] drain_timeout` (25 s');
});

test.run();
