/**
 * One image being copied into the cache. Readers follow its progress: `waitFor(pos)` resolves as soon as bytes
 * past `pos` are on disk, so every concurrent download streams from the same partial file while it grows.
 */
export class Fill {
  filled = 0;
  done = false;
  error: Error | null = null;
  readers = 0;
  private waiters: Array<{ pos: number; resolve: (end: number) => void; reject: (e: Error) => void }> = [];
  readonly finished: Promise<void>;
  private finish!: () => void;
  private failFinished!: (e: Error) => void;

  constructor(
    readonly id: string,
    readonly size: number,
    readonly tmpPath: string,
  ) {
    this.finished = new Promise((res, rej) => {
      this.finish = res;
      this.failFinished = rej;
    });
    this.finished.catch(() => {}); // observed through waitFor / callers that await it
  }

  progress(written: number) {
    // The last byte is held back until the fill is verified: a reader can then never receive a whole body
    // whose checksums turn out wrong; it sees a failed transfer instead.
    const filled = this.done ? written : Math.min(written, this.size - 1);
    this.filled = filled;
    const still = [];
    for (const w of this.waiters) {
      if (filled > w.pos) w.resolve(filled);
      else still.push(w);
    }
    this.waiters = still;
  }

  complete() {
    this.done = true;
    this.progress(this.size);
    for (const w of this.waiters.splice(0)) w.resolve(this.size);
    this.finish();
  }

  fail(e: Error) {
    this.error = e;
    for (const w of this.waiters.splice(0)) w.reject(e);
    this.failFinished(e);
  }

  /** End of the bytes on disk once it passes `pos`; rejects if the fill fails. */
  waitFor(pos: number): Promise<number> {
    if (this.error) return Promise.reject(this.error);
    if (this.filled > pos || this.done) return Promise.resolve(this.done ? this.size : this.filled);
    return new Promise((resolve, reject) => this.waiters.push({ pos, resolve, reject }));
  }
}
