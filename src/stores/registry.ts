import type { Config } from '../config/index.js';
import type { Logger } from 'pino';
import { FileStore } from './file.js';
import { RbdStore } from './rbd.js';
import { S3Store } from './s3.js';
import { SwiftStore } from './swift.js';
import type { Store } from './types.js';

/** The stores the config enables, by backend id. */
export class StoreRegistry {
  private stores = new Map<string, Store>();
  constructor(public readonly defaultId: string) {}

  add(s: Store) {
    this.stores.set(s.info.id, s);
  }
  get(id: string): Store | undefined {
    return this.stores.get(id);
  }
  all(): Store[] {
    return [...this.stores.values()];
  }
}

export function storesFromConfig(config: Config, log: Logger): StoreRegistry {
  const reg = new StoreRegistry(config.defaultStore);
  for (const s of config.stores) {
    if (s.type === 'file') {
      reg.add(new FileStore({
        id: s.id, description: s.description, weight: s.weight, isDefault: s.isDefault,
        datadir: s.datadir!, filePerm: s.filePerm, chunkSize: s.chunkSize, thinProvisioning: s.thinProvisioning,
      }));
    } else if (s.type === 'rbd' && s.rbd) {
      reg.add(new RbdStore({
        id: s.id, description: s.description, weight: s.weight, isDefault: s.isDefault, ...s.rbd,
        thinProvisioning: s.thinProvisioning, log,
      }));
    } else if (s.type === 'swift' && s.swift) {
      reg.add(new SwiftStore({ id: s.id, description: s.description, weight: s.weight, isDefault: s.isDefault, ...s.swift, log }));
    } else if (s.type === 's3' && s.s3) {
      reg.add(new S3Store({ id: s.id, description: s.description, weight: s.weight, isDefault: s.isDefault, ...s.s3, log }));
    } else {
      throw new Error(`store type ${s.type} (store ${s.id}) is not supported yet`);
    }
  }
  return reg;
}
