import fs from 'node:fs';
import { Command } from 'commander';
import {
  checkPolicyFiles, checkStoreDirs, embeddedDefaultConfig, formatEffectiveConfig, formatProblem, inspectPolicy, loadConfig,
  type Config, type ConfigArg, type ConfigProblem,
} from '../config/index.js';
import { GLANCE_DEFAULTS } from '../auth/glance-defaults.js';
import { sampleYaml } from '../auth/sample.js';
import { createLogger } from '../log.js';
import { startDaemon } from '../daemon/daemon.js';
import { dropPrivileges, willDropTo } from '../daemon/privileges.js';

/** package.json's version; the file sits two levels up from both src/cli and dist/cli. */
function version(): string {
  return JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
}

/**
 * Loads the config like oslo.config (--config-file and --config-dir in command-line order); the embedded
 * default without any. `forStart` creates the embedded default's directories; a check creates nothing.
 */
function resolveConfig(args: ConfigArg[], forStart: boolean): { config?: Config; problems: ConfigProblem[] } {
  if (args.length === 0) {
    const config = embeddedDefaultConfig();
    return { config, problems: [...checkStoreDirs(config, forStart ? { create: true } : { missingOk: true }), ...checkPolicyFiles(config)] };
  }
  const r = loadConfig({ args });
  if (!r.config) return r;
  return { config: r.config, problems: [...r.problems, ...checkStoreDirs(r.config), ...checkPolicyFiles(r.config)] };
}

/** --config-file/--config-dir recorded in one list, so their relative order survives (it decides who wins). */
function addConfigOptions(cmd: Command): { cmd: Command; args: ConfigArg[] } {
  const args: ConfigArg[] = [];
  const record = (kind: ConfigArg['kind']) => (v: string, prev: string[]) => {
    args.push({ kind, path: v });
    return [...prev, v];
  };
  cmd
    .option('--config-file <file>', 'glance-api.conf-style file; repeatable, later wins', record('file'), [])
    .option('--config-dir <dir>', "a directory's *.conf, sorted; applied where it stands among the --config-file options", record('dir'), []);
  return { cmd, args };
}

const fail = (message: string): never => {
  process.stderr.write(`imaged: ${message}\n`);
  process.exit(1);
};

export async function main(argv: string[]) {
  const root = addConfigOptions(new Command('imaged'));
  root.cmd
    .description('Per-node image transfer daemon speaking the OpenStack Glance Images API v2')
    .version(version(), '-V, --version', 'print the version and exit')
    .enablePositionalOptions()
    .action(() => serve(root.args));

  const check = addConfigOptions(root.cmd.command('check-config'));
  check.cmd
    .description('print the effective configuration and every problem (warnings included); exit 1 on any. Creates nothing.')
    .action(() => {
      const { config, problems } = resolveConfig(check.args, false);
      if (config) process.stdout.write(formatEffectiveConfig(config));
      for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
      process.stdout.write(problems.length === 0 ? 'configuration OK\n' : `${problems.length} problem(s)\n`);
      process.exit(problems.length === 0 ? 0 : 1);
    });

  const pd = addConfigOptions(root.cmd.command('policy-defaults'));
  pd.cmd
    .description("print Glance's policy defaults as oslopolicy-sample-generator does; with --effective, the rules in force as oslopolicy-policy-generator does")
    .option('--effective', "the policy files' rules, then the defaults they leave (needs the config to find the files)")
    .action((o: { effective?: boolean }) => {
      if (!o.effective) {
        process.stdout.write(sampleYaml(GLANCE_DEFAULTS));
        return;
      }
      const loaded = pd.args.length === 0 ? { config: embeddedDefaultConfig(), problems: [] } : loadConfig({ args: pd.args });
      const r = loaded.config ? inspectPolicy(loaded.config) : { enforcer: undefined, problems: [] };
      const errors = [...loaded.problems, ...r.problems].filter((p) => p.level === 'error');
      if (!r.enforcer || errors.length) {
        for (const p of errors) process.stderr.write(`imaged: ${formatProblem(p)}\n`);
        process.exit(1);
      }
      process.stdout.write(r.enforcer.effectiveYaml());
    });

  await root.cmd.parseAsync(argv);
}

async function serve(args: ConfigArg[]) {
  const { config, problems } = resolveConfig(args, true);
  for (const p of problems) process.stderr.write(`imaged: ${formatProblem(p)}\n`);
  if (!config || problems.some((p) => p.level === 'error')) process.exit(1);
  const log = createLogger(config.imaged.logLevel);
  const ids = { uid: config.imaged.serviceUid, gid: config.imaged.serviceGid };
  const d = await startDaemon(config, log, {
    // root binds (any port), then runs as the service user: what it writes is the unit's to use later
    afterBind: () => {
      if (!willDropTo(ids)) return;
      try {
        dropPrivileges(ids);
      } catch (e) {
        fail(`started as root, could not switch to [imaged] service_uid ${ids.uid} / service_gid ${ids.gid}: ${(e as Error).message}`);
      }
      log.info({ uid: ids.uid, gid: ids.gid }, 'bound as root, now running as the service uid');
    },
  });
  process.stdout.write(`imaged listening on ${d.url}\n`);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) {
      // the operator insists: uploads cut here are put back to queued at the next start
      log.warn({ signal: sig }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal: sig, drainTimeout: config.imaged.drainTimeout }, 'stopping: finishing transfers in flight');
    d.stop().then(() => process.exit(0), (e) => fail(`error while stopping: ${(e as Error).message}`));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP (ExecReload): the policy files are read again; a bad one keeps the rules in force
  process.on('SIGHUP', () => {
    const again = resolveConfig(args, false);
    const errors = again.problems.filter((p) => p.level === 'error');
    if (!again.config || errors.length) {
      log.error({ problems: errors.map(formatProblem) }, 'reload refused: the configuration has errors; nothing changed');
      return;
    }
    d.reloadPolicy(again.config.policy);
  });
}
