/**
 * Polls `cond` (sync or async) every 10 ms of real time until it holds, or rejects naming `what`
 * after `ms`. The limit is a safety net against hangs, not a timing assertion.
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what = 'condition',
  ms = 30_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
