import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { embeddedDefaultConfig, type Config, type StoreConfig } from '../../src/config/index.js';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';

export interface TestDaemon {
  url: string;
  dir: string;
  config: Config;
  daemon: Daemon;
  /** Stops the daemon; keeps the directory unless `clean`. */
  stop(clean?: boolean): Promise<void>;
}

export interface TestDaemonOptions {
  dir?: string;
  multiStore?: boolean;
  imageSizeCap?: number;
  trustHeaders?: boolean;
  showDirectUrl?: boolean;
  sendfile?: boolean;
  tweak?: (c: Config) => void;
}

/** An in-process imaged on 127.0.0.1:<ephemeral> with file stores and its catalog under a temp dir. */
export async function startTestDaemon(o: TestDaemonOptions = {}): Promise<TestDaemon> {
  const dir = o.dir ?? mkdtempSync(path.join(os.tmpdir(), 'imaged-test-'));
  const config = embeddedDefaultConfig(dir);
  config.bindHost = '127.0.0.1';
  config.bindPort = 0;
  config.imaged.logLevel = 'silent';
  config.imaged.drainTimeout = 5; // a test that leaves a transfer hanging should not hold its suite for the product's 25 s
  config.imaged.trustContextHeaders = o.trustHeaders ?? true;
  config.imaged.sendfile = o.sendfile ?? true;
  config.showImageDirectUrl = o.showDirectUrl ?? false;
  if (o.imageSizeCap !== undefined) config.imageSizeCap = o.imageSizeCap;
  if (o.multiStore) {
    const mk = (id: string, isDefault: boolean): StoreConfig => {
      const datadir = path.join(dir, 'stores', id);
      mkdirSync(datadir, { recursive: true });
      return {
        ...config.stores[0], id, type: 'file', description: `${id} store`, weight: 0, isDefault, datadir,
        options: { filesystem_store_datadir: datadir },
      };
    };
    config.stores = [mk('fast', true), mk('slow', false)];
    config.defaultStore = 'fast';
    config.multiStore = true;
  }
  mkdirSync(config.imaged.stateDir, { recursive: true });
  for (const s of config.stores) mkdirSync(s.datadir!, { recursive: true });
  o.tweak?.(config);
  const daemon = await startDaemon(config, pino({ level: 'silent' }));
  return {
    url: daemon.url,
    dir,
    config,
    daemon,
    async stop(clean = true) {
      await daemon.stop();
      if (clean) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Headers for a caller in `project` with `roles` (the daemon trusts them in tests). */
export const as = (project: string, roles = 'member,reader') => ({ 'X-Project-Id': project, 'X-Roles': roles });
export const ADMIN = as('admin', 'admin,member,reader');
