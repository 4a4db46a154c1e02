import { Command } from 'commander';
import { checkStoreDirs, embeddedDefaultConfig, formatEffectiveConfig, loadConfig, type Config, type ConfigProblem } from '../config/index.js';
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
    return { config, problems: checkStoreDirs(config, { create: true }) };
  }
  const r = loadConfig({ configFiles: o.configFile, configDirs: o.configDir });
  if (!r.config) return r;
  return { config: r.config, problems: [...r.problems, ...checkStoreDirs(r.config)] };
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

  await program.parseAsync(argv);
}
