import { Command } from 'commander';
import { checkPolicyFiles, checkStoreDirs, inspectPolicy, embeddedDefaultConfig, formatEffectiveConfig, loadConfig, type Config, type ConfigProblem } from '../config/index.js';
import { GLANCE_DEFAULTS } from '../auth/glance-defaults.js';
import { sampleYaml } from '../auth/sample.js';
import { createLogger } from '../log.js';
import { startDaemon } from '../daemon/daemon.js';

const collect = (v: string, prev: string[]) => [...prev, v];

interface Opts {
  configFile: string[];
  configDir: string[];
}

const describe = (p: ConfigProblem) => `${p.level}: ${p.option}: ${p.message}${p.source ? ` (${p.source})` : ''}`;

/** Loads the config like oslo.config (files in order, then each dir's *.conf sorted); the embedded default without any. */
function resolveConfig(o: Opts): { config?: Config; problems: ConfigProblem[] } {
  if (o.configFile.length === 0 && o.configDir.length === 0) {
    const config = embeddedDefaultConfig();
    return { config, problems: [...checkStoreDirs(config, { create: true }), ...checkPolicyFiles(config)] };
  }
  const r = loadConfig({ configFiles: o.configFile, configDirs: o.configDir });
  if (!r.config) return r;
  return { config: r.config, problems: [...r.problems, ...checkStoreDirs(r.config), ...checkPolicyFiles(r.config)] };
}

function addConfigOptions(cmd: Command) {
  return cmd
    .option('--config-file <file>', 'glance-api.conf-style file; repeat it, later files win', collect, [])
    .option('--config-dir <dir>', 'directory whose *.conf files are read in sorted order after the files', collect, []);
}

export async function main(argv: string[]) {
  const program = addConfigOptions(new Command('imaged'))
    .description('Per-node image transfer daemon speaking the OpenStack Glance Images API v2')
    .enablePositionalOptions()
    .action(async (o: Opts) => {
      const { config, problems } = resolveConfig(o);
      for (const p of problems) process.stderr.write(`imaged: ${describe(p)}\n`);
      if (!config || problems.some((p) => p.level === 'error')) process.exit(1);
      const log = createLogger(config.imaged.logLevel);
      const d = await startDaemon(config, log);
      process.stdout.write(`imaged listening on ${d.url}\n`);
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal: sig }, 'stopping');
        d.stop().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });

  addConfigOptions(program.command('check-config'))
    .description('print the effective configuration and every problem; exit 1 on any')
    .action((o: Opts) => {
      const { config, problems } = resolveConfig(o);
      if (config) process.stdout.write(formatEffectiveConfig(config));
      for (const p of problems) process.stdout.write(`${describe(p)}\n`);
      process.stdout.write(problems.length === 0 ? 'configuration OK\n' : `${problems.length} problem(s)\n`);
      process.exit(problems.length === 0 ? 0 : 1);
    });

  addConfigOptions(program.command('policy-defaults'))
    .description("print Glance's policy defaults as oslopolicy-sample-generator does; with --effective, the rules in force as oslopolicy-policy-generator does")
    .option('--effective', "the policy files' rules, then the defaults they leave (needs the config to find the files)")
    .action((o: Opts & { effective?: boolean }) => {
      if (!o.effective) {
        process.stdout.write(sampleYaml(GLANCE_DEFAULTS));
        return;
      }
      const loaded = o.configFile.length === 0 && o.configDir.length === 0 ? { config: embeddedDefaultConfig(), problems: [] } : loadConfig({ configFiles: o.configFile, configDirs: o.configDir });
      const r = loaded.config ? inspectPolicy(loaded.config) : { enforcer: undefined, problems: [] };
      const errors = [...loaded.problems, ...r.problems].filter((p) => p.level === 'error');
      if (!r.enforcer || errors.length) {
        for (const p of errors) process.stderr.write(`imaged: ${describe(p)}\n`);
        process.exit(1);
      }
      process.stdout.write(r.enforcer.effectiveYaml());
    });

  await program.parseAsync(argv);
}
