/**
 * Polls `cond` until it holds; throws (naming `what`) when it still does not after `ms`. Tests that need a
 * state before their next step use it instead of a bounded loop that carries on regardless.
 */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, ms = 5000, every = 20): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
