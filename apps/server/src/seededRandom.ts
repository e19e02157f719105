/** A random number in [0, 1), like `Math.random`. */
export type Random = () => number

/**
 * Mulberry32: a tiny seeded generator, good enough for simulated data (the demo, the benchmark)
 * and reproducible from a 32-bit seed, so tests and figures repeat.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
