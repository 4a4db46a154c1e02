import type { ImageLocation } from '../images/record.js';

/** Bytes of one image being written to a store. Nothing is visible at the final location before commit(). */
export interface StoreWriter {
  /** Writes the next chunk; resolves when the store has accepted it (not necessarily durable yet).
   *  Calls may overlap: chunks land in call order whatever order they complete in. */
  write(chunk: Buffer): Promise<void>;
  /** Makes every byte durable and publishes the data; returns the location to record. */
  commit(): Promise<ImageLocation>;
  /** Drops everything written so far; safe to call more than once and after a failed write. */
  abort(): Promise<void>;
}

/** An open handle on stored bytes. A file-backed reader exposes `fd` so downloads can use sendfile(2). */
export interface StoreReader {
  size: number;
  fd?: number;
  stream(start: number, end: number): NodeJS.ReadableStream; // inclusive end
  /** Writes [start, end] straight into `dst`, reusing a few buffers (no per-chunk garbage); optional. */
  pipeTo?(dst: NodeJS.WritableStream, start: number, end: number): Promise<void>;
  close(): Promise<void>;
}

export interface StoreInfo {
  id: string;
  type: string;
  description: string;
  weight: number;
  isDefault: boolean;
  properties: Record<string, unknown>;
}

export interface Store {
  readonly info: StoreInfo;
  /** Why the store cannot be used now, or null when it can. */
  unavailableReason(): string | null;
  /** Bytes free for new images, or null when the store cannot tell. */
  freeBytes(): Promise<number | null>;
  createWriter(imageId: string, expectedSize: number | null): Promise<StoreWriter>;
  open(location: ImageLocation): Promise<StoreReader>;
  delete(location: ImageLocation): Promise<void>;
  /** Removes leftovers of writes interrupted by a crash. */
  cleanupIncomplete(): Promise<number>;
  /** Why the data at `location` cannot be deleted now (e.g. RBD clones use it), or null. */
  inUse?(location: ImageLocation): Promise<string | null>;
  /** Does this store hold data at `url`? Used to register existing data as a location. */
  owns?(url: string): boolean;
  /** Connects in the background; the daemon does not wait for it. */
  start?(): void;
  stop?(): Promise<void>;
}

/** The data is in use (an RBD snapshot has clones): the API answers 409 and removes nothing. */
export class InUseError extends Error {}

/** The store has no room: the API answers 413 as Glance does. */
export class StorageFullError extends Error {}
/** The image's data is not where the location says. */
export class DataNotFoundError extends Error {}
