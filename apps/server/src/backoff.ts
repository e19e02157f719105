/** Exponential backoff, shared by every loop that retries a remote (Kubernetes, registries, sinks). */
import type { Random } from './seededRandom.ts'

/** Exponential backoff bounds: the first delay, and the most any delay grows to. */
export interface BackoffOptions {
  initialMs: number
  maxMs: number
}

/**
 * The wait before retry number `attempt` (0-based): `initialMs * 2^attempt`, capped at `maxMs`,
 * minus up to `jitter` of it at random, so clients that failed together do not retry together
 * (the jitter stays in effect at the cap). `jitter` 0 gives the plain doubling.
 */
export function backoffDelay(attempt: number, backoff: BackoffOptions, random: Random = Math.random, jitter = 0.25): number {
  const capped = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30))
  return Math.round(capped * (1 - jitter * random()))
}
