// [oslo_policy] and [DEFAULT] enforce_secure_rbac, read as glance-api 25 reads them, and the
// check that the policy files they point at can be used (check-config and startup).
import os from 'node:os';
import path from 'node:path';
import { Enforcer, formatPolicyProblem } from '../auth/enforcer.js';
import type { OptionReader } from './reader.js';
import { OSLO_POLICY_OPTS } from './schema.js';
import type { Config, ConfigProblem, PolicyConfig } from './types.js';

/** oslo.config's find_file order for files named relative to the configuration. */
export function policySearchDirs(configFiles: string[], configDirs: string[]): string[] {
  const home = process.env.HOME || os.homedir();
  return [
    ...configDirs.map((d) => path.resolve(d)),
    ...[...configFiles].reverse().map((f) => path.dirname(path.resolve(f))),
    path.join(home, '.glance'),
    home,
    '/etc/glance',
    '/etc',
  ];
}

export function readPolicy(r: OptionReader, enforceSecureRbac: boolean, files: { configFiles: string[]; configDirs: string[] }): PolicyConfig {
  const o = r.readAll('oslo_policy', OSLO_POLICY_OPTS);
  if (o.enforce_new_defaults !== enforceSecureRbac) {
    // glance-api refuses to start on this (glance/cmd/api.py)
    r.error(
      'DEFAULT',
      'enforce_secure_rbac',
      `is ${enforceSecureRbac} but [oslo_policy] enforce_new_defaults is ${o.enforce_new_defaults}: set both to true to enable secure RBAC personas, otherwise make sure both are false (as glance-api requires)`,
    );
  }
  if (r.isSet('oslo_policy', 'policy_default_rule') && r.rawValue('oslo_policy', 'policy_default_rule')!.trim() !== 'default') {
    r.warn('oslo_policy', 'policy_default_rule', 'is not supported by imaged; undefined rules fall back to the "default" rule');
  }
  if (o.policy_file.trim() === '') r.error('oslo_policy', 'policy_file', 'must not be empty');
  return {
    policyFile: o.policy_file.trim() || OSLO_POLICY_OPTS.policy_file.default,
    policyDirs: o.policy_dirs.trim() ? [o.policy_dirs.trim()] : [],
    enforceNewDefaults: o.enforce_new_defaults,
    enforceScope: o.enforce_scope,
    enforceSecureRbac,
    configDirs: policySearchDirs(files.configFiles, files.configDirs),
  };
}

/** The policy files in use, loaded: an unusable rule is an error naming the file, line and policy. */
export function inspectPolicy(config: Config): { enforcer?: Enforcer; problems: ConfigProblem[] } {
  const { enforcer, problems, policyFile } = Enforcer.inspect(config.policy);
  return {
    enforcer,
    problems: problems.map((p) => ({
      level: p.level,
      option: p.file && p.file !== policyFile && p.file !== config.policy.policyFile ? 'oslo_policy.policy_dirs' : 'oslo_policy.policy_file',
      message: formatPolicyProblem({ ...p, file: undefined }),
      ...(p.file ? { source: p.line ? `${p.file}:${p.line}` : p.file } : {}),
    })),
  };
}

export const checkPolicyFiles = (config: Config): ConfigProblem[] => inspectPolicy(config).problems;
