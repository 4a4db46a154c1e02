// Validated tokens, remembered as keystonemiddleware's in-process cache does: keyed by sha256(token) (the
// token itself is a bearer secret and stays out of the map), each trusted until its own deadline, and
// bounded in number.
import { createHash } from 'node:crypto';

export const tokenKey = (token: string): string => createHash('sha256').update(token).digest('base64');

interface Entry<V> {
  value: V;
  /** ms epoch */
  until: number;
}

export class TokenCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  /** @param maxEntries oldest entries go first when full (insertion order) */
  constructor(private readonly maxEntries = 10_000) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now = Date.now()): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (now < e.until) return e.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: V, until: number): void {
    if (until <= Date.now()) return;
    this.entries.delete(key); // re-insert: newest last
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, until });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
