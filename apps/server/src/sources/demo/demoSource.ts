/**
 * The `--demo` simulator: a source feeding mesh `demo` with Kubernetes-style pod events and Dubbo
 * registry changes, so the console can be tried without a cluster or a registry. The story is told
 * by the pure functions of `demoScenario.ts`; this class owns only the timer, the checkpoints and
 * the publishing.
 */
import { z } from 'zod'
import type { MeshKind } from '@eventline/shared'
import type { Publication } from '../../bus.ts'
import type { IngestEvent } from '../../store/types.ts'
import type { Source, SourceContext } from '../source.ts'
import { advanceDemo, backfillDemo, createDemoState, podsOf } from './demoScenario.ts'
import type { DemoState } from './demoScenario.ts'
import { DEMO_MESH, topologyCatalog } from './demoTopology.ts'
import type { DemoPod, Random } from './demoTopology.ts'

export interface DemoSourceOptions {
  /** Time between live steps; each step emits what came due, a few events per second by default. */
  intervalMs?: number
  /** Chance that a live step starts a new happening. */
  happeningChance?: number
  /** How much history the first start writes. */
  backfillSpanMs?: number
  random?: Random
  /** Clock in epoch milliseconds. */
  now?: () => number
}

/** The most events one publication carries, so one write transaction stays short. */
export const MAX_PUBLICATION_EVENTS = 500

const BACKFILL_KEY = 'backfill'
const PODS_KEY = 'pods'
// Simulated step of the back-fill and its happening rate: about 40 happenings over six hours,
// a few hundred events.
const BACKFILL_TICK_MS = 20_000
const BACKFILL_HAPPENING_CHANCE = 0.04

const podsCheckpointSchema = z.object({
  pods: z.array(z.object({ name: z.string(), uid: z.string(), application: z.string(), ip: z.string(), node: z.string() })),
})

export class DemoSource implements Source {
  readonly mesh = DEMO_MESH
  readonly kind: MeshKind = 'demo'
  readonly address = 'simulator'

  private readonly intervalMs: number
  private readonly happeningChance: number
  private readonly backfillSpanMs: number
  private readonly random: Random
  private readonly now: () => number
  private context: SourceContext | undefined
  private state: DemoState | undefined
  private timer: NodeJS.Timeout | undefined
  private inflight: Promise<void> | undefined
  private stopped = false

  constructor(options: DemoSourceOptions = {}) {
    this.intervalMs = options.intervalMs ?? 1_000
    this.happeningChance = options.happeningChance ?? 0.3
    this.backfillSpanMs = options.backfillSpanMs ?? 6 * 3_600_000
    this.random = options.random ?? Math.random
    this.now = options.now ?? Date.now
  }

  /**
   * Restores the pods of an earlier run (or creates them), publishes the catalog and, on the very
   * first start of the mesh, a back-fill of history; then starts the live timer.
   */
  async start(context: SourceContext): Promise<void> {
    this.context = context
    this.stopped = false
    const now = this.now()
    const [pods, backfilled] = await Promise.all([this.readPods(context), this.readBackfilled(context)])
    let state = createDemoState(this.random, pods)
    if (!backfilled) {
      state = await this.backfill(context, state, now)
    } else {
      await this.publish({
        catalog: [...topologyCatalog(podsOf(state)), { op: 'mesh-synced', name: this.mesh, at: now }],
        checkpoints: [this.podsCheckpoint(state)],
      })
    }
    this.state = state
    if (this.stopped) return
    context.setStatus('connected')
    this.schedule()
  }

  /** Stops the timer and resolves once the step being published (if any) has settled. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    await this.inflight
  }

  /**
   * Writes `backfillSpanMs` of history in publications of at most `MAX_PUBLICATION_EVENTS`. The
   * `backfill` checkpoint rides on the last one, so an interrupted back-fill is redone from scratch
   * on the next start (ids are time-based, so the redo adds a second, complete history rather than
   * corrupting the first).
   */
  private async backfill(context: SourceContext, initial: DemoState, now: number): Promise<DemoState> {
    const initialCatalog = topologyCatalog(podsOf(initial))
    const history = backfillDemo(initial, this.random, now - this.backfillSpanMs, now, {
      tickMs: BACKFILL_TICK_MS,
      happeningChance: BACKFILL_HAPPENING_CHANCE,
    })
    const chunks: IngestEvent[][] = []
    for (let i = 0; i < history.events.length; i += MAX_PUBLICATION_EVENTS) chunks.push(history.events.slice(i, i + MAX_PUBLICATION_EVENTS))
    if (chunks.length === 0) chunks.push([])
    for (const [i, events] of chunks.entries()) {
      const publication: Publication = { events }
      // The catalog goes first, in the order the simulation changed it: the end state is what stays.
      if (i === 0) publication.catalog = [...initialCatalog, ...history.catalog, { op: 'mesh-synced', name: this.mesh, at: now }]
      if (i === chunks.length - 1) {
        publication.checkpoints = [{ key: BACKFILL_KEY, value: new Date(now).toISOString() }, this.podsCheckpoint(history.state)]
      }
      if (!(await this.publish(publication))) {
        context.log.warn('demo back-fill stopped early; it is retried on the next start', { published: i, of: chunks.length })
        break
      }
    }
    context.log.info('demo back-fill published', { events: history.events.length, spanMs: this.backfillSpanMs })
    return history.state
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.inflight = this.step().finally(() => {
        this.inflight = undefined
        this.schedule()
      })
    }, this.intervalMs)
    // The simulator alone must never keep the process alive.
    this.timer.unref()
  }

  private async step(): Promise<void> {
    if (!this.state) return
    const step = advanceDemo(this.state, this.random, this.now(), { happeningChance: this.happeningChance })
    this.state = step.state
    if (step.events.length === 0 && step.catalog.length === 0 && !step.podsChanged) return
    const publication: Publication = {}
    if (step.events.length > 0) publication.events = step.events
    if (step.catalog.length > 0) publication.catalog = step.catalog
    if (step.podsChanged) publication.checkpoints = [this.podsCheckpoint(step.state)]
    await this.publish(publication)
  }

  /** Publishes; a failure is logged and reported as `false`, never thrown (the simulator keeps going). */
  private async publish(publication: Publication): Promise<boolean> {
    try {
      await this.context?.publish(publication)
      return true
    } catch (error) {
      this.context?.log.error('demo publish failed', { error, events: publication.events?.length ?? 0 })
      return false
    }
  }

  /**
   * Whether history was written by an earlier run. A failing read counts as yes: a console missing
   * its demo history is better than one with the history twice.
   */
  private async readBackfilled(context: SourceContext): Promise<boolean> {
    try {
      return (await context.readCheckpoint(BACKFILL_KEY)) !== undefined
    } catch (error) {
      context.log.warn('demo checkpoint read failed; skipping the back-fill', { key: BACKFILL_KEY, error })
      return true
    }
  }

  /** The pods of an earlier run, so restarts keep the same pod names and IPs; empty when unknown. */
  private async readPods(context: SourceContext): Promise<DemoPod[]> {
    let text: string | undefined
    try {
      text = await context.readCheckpoint(PODS_KEY)
    } catch (error) {
      context.log.warn('demo checkpoint read failed; starting with new pods', { key: PODS_KEY, error })
      return []
    }
    if (text === undefined) return []
    try {
      return podsCheckpointSchema.parse(JSON.parse(text)).pods
    } catch (error) {
      context.reportMalformed('unreadable checkpoint', { key: PODS_KEY, error: String(error) })
      return []
    }
  }

  private podsCheckpoint(state: DemoState): { key: string; value: string } {
    return { key: PODS_KEY, value: JSON.stringify({ pods: podsOf(state) }) }
  }
}
