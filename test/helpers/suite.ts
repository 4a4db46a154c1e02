import { suite as uvuSuite, type Callback, type Test } from 'uvu';

// uvu 0.5 runs `before` hooks inside a try whose `finally` returns: an error thrown there vanishes (the suite
// shows 0 / N and uvu even exits 0), and an `after` hook that then trips over the missing set-up kills the
// whole run. Every suite is made with this `suite` (or `test`) instead of uvu's: a failed `before` fails each
// test of the suite with the error and the suite's name, and a failing `after` is printed and fails the run.

let afterFailed = false;
process.on('exit', () => {
  if (afterFailed) process.exitCode = 1;
});

/** One run of a suite: what its before hooks did. */
interface Run { err: unknown; failed: boolean; shown: boolean }

export function suite<T = Record<string, any>>(name = '', state?: T): Test<T> {
  const t = uvuSuite<T>(name, state);
  const { before, after } = t;
  let current: Run;
  // uvu empties the hook lists at run(): each run gets its own record and its own check, registered first
  // so that it runs ahead of the suite's before.each hooks.
  const fresh = () => {
    const r: Run = (current = { err: null, failed: false, shown: false });
    before.each(() => {
      if (!r.failed) return;
      if (r.shown) throw new Error(`not run: the before hook of suite "${name}" failed (see the first failure)`);
      r.shown = true;
      throw beforeError(name, r.err);
    });
  };
  fresh();

  const wrappedBefore = ((fn: Callback<T>) => {
    const r = current;
    before(async (ctx) => {
      if (r.failed) return;
      try {
        await fn(ctx);
      } catch (err) {
        Object.assign(r, { err, failed: true });
      }
    });
  }) as Test<T>['before'];
  wrappedBefore.each = before.each;

  const wrappedAfter = ((fn: Callback<T>) => {
    const r = current;
    after(async (ctx) => {
      try {
        await fn(ctx);
      } catch (err) {
        // after a failed before, tearing down what was never set up may throw: that is not news
        if (r.failed) return;
        afterFailed = true;
        process.stderr.write(`\n  FAIL the after hook of suite "${name}" failed: ${(err as Error)?.stack ?? String(err)}\n`);
      }
    });
  }) as Test<T>['after'];
  wrappedAfter.each = after.each;

  const run = t.run;
  t.before = wrappedBefore;
  t.after = wrappedAfter;
  t.run = () => {
    run();
    fresh();
  };
  return t;
}

/** Like uvu's `test`: one unnamed suite shared by the files that use it, each ending with test.run(). */
export const test = suite();

function beforeError(name: string, err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const wrapped = new Error(`the before hook of suite "${name || '(unnamed)'}" failed: ${e.message}`);
  wrapped.stack = `${wrapped.message}\n${(e.stack ?? '').split('\n').slice(1).join('\n')}`;
  return wrapped;
}
