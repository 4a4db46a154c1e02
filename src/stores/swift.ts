import type { Logger } from 'pino';
import type { ImageLocation } from '../images/record.js';
import type { SwiftStoreConfig } from '../config/index.js';
import type { Store, StoreInfo, StoreReader, StoreWriter } from './types.js';

export interface SwiftStoreOptions extends SwiftStoreConfig {
  id: string;
  description: string;
  weight: number;
  isDefault: boolean;
  log: Logger;
}

/** Placeholder until the swift driver lands: configured, listed, and unavailable with a reason. */
export class SwiftStore implements Store {
  readonly info: StoreInfo;
  constructor(private readonly o: SwiftStoreOptions) {
    this.info = { id: o.id, type: 'swift', description: o.description, weight: o.weight, isDefault: o.isDefault, properties: {} };
  }
  unavailableReason(): string | null {
    return 'the swift store is not implemented yet';
  }
  async freeBytes(): Promise<number | null> {
    return null;
  }
  async createWriter(): Promise<StoreWriter> {
    throw new Error(this.unavailableReason()!);
  }
  async open(_location: ImageLocation): Promise<StoreReader> {
    throw new Error(this.unavailableReason()!);
  }
  async delete(_location: ImageLocation): Promise<void> {
    throw new Error(this.unavailableReason()!);
  }
  async cleanupIncomplete(): Promise<number> {
    return 0;
  }
}
