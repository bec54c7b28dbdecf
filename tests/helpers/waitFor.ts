/**
 * Polls a condition until it holds. On timeout the error says what is still missing,
 * as reported by the last check (never a fixed sleep standing in for a condition).
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | false | undefined | null> | T | false | undefined | null,
  opts: { timeoutMs?: number; intervalMs?: number; missing?: () => unknown } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 15000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const detail = opts.missing ? ` — still missing: ${JSON.stringify(await opts.missing())}` : '';
      const err = lastError ? ` — last error: ${String(lastError)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}${err}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
