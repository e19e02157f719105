/**
 * Polls `check` until it passes or `timeoutMs` runs out, then throws its last failure: how
 * integration tests wait for what a real server does asynchronously, without fixed sleeps.
 */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
}
