/**
 * The demo simulator's story, as pure functions of (state, random, now). A *happening* (a pod
 * rescheduled, a crash loop, a readiness flap, a config change) is planned at once as a script of
 * timed steps; `advanceDemo` emits the steps that have come due. Planning ahead is what lets the
 * same code write six hours of history in one go and play live without ever stamping an event
 * with a future time.
 */
import type { CatalogChange, IngestEvent } from '../../store/types.ts'
import {
  applicationOf,
  createPod,
  createPods,
  DEMO_CONFIGS,
  DEMO_MESH,
  DEMO_NAMESPACE,
  DEMO_NODES,
  pickOne,
  podInstance,
  registryAddress,
  registryCatalog,
  registryGoneCatalog,
} from './demoTopology.ts'
import type { DemoApplication, DemoConfig, DemoPod, Random } from './demoTopology.ts'

export const HAPPENINGS = ['readiness', 'config', 'reschedule', 'crashloop'] as const
export type Happening = (typeof HAPPENINGS)[number]

// How often each happening is picked once the tour is over: flaps and config changes are common,
// crash loops rare enough that the console is not a wall of red.
const HAPPENING_WEIGHTS: Record<Happening, number> = { readiness: 0.35, config: 0.2, reschedule: 0.3, crashloop: 0.15 }

/** An event before it is emitted: id, times and count are assigned when it comes due. */
export type EventDraft = Omit<IngestEvent, 'id' | 'time' | 'firstTime' | 'count'>

/** One timed step of a planned happening. */
export interface ScriptStep {
  at: number
  event?: EventDraft
  /** Steps sharing a series key are one event repeating: same id, first time kept, count bumped. */
  series?: string
  /** The series' last occurrence: its bookkeeping can go. */
  endsSeries?: boolean
  catalog?: CatalogChange[]
}

export interface DemoPodState {
  pod: DemoPod
  /** The pod takes part in no new happening before this time. */
  busyUntil: number
  activity?: Happening
}

export interface DemoState {
  pods: DemoPodState[]
  /** Current value of each dynamic config, keyed `<key>.<kind>`. */
  configValues: Record<string, string>
  /** Planned steps, ordered by time. */
  pending: ScriptStep[]
  /** Open count-bumped series: their id, first time and occurrences so far. */
  series: Record<string, { id: string; firstTime: number; count: number }>
  /** Happenings still to show once each before picking at random, so a fresh console has every kind. */
  tour: Happening[]
  /** Makes event ids unique within a run; the time in the id makes them unique across runs. */
  seq: number
}

/** What one advance produced: the next state and what to publish. */
export interface DemoStep {
  state: DemoState
  events: IngestEvent[]
  catalog: CatalogChange[]
  /** Pods were replaced: the `pods` checkpoint needs rewriting. */
  podsChanged: boolean
}

export interface AdvanceOptions {
  /** Chance that a new happening starts on this advance. */
  happeningChance: number
}

export interface BackfillOptions extends AdvanceOptions {
  /** Simulated time between advances. */
  tickMs: number
}

/** The starting state: the given pods (restored from a checkpoint) topped up to the topology. */
export function createDemoState(random: Random, pods: readonly DemoPod[] = []): DemoState {
  const tour = [...HAPPENINGS]
  // Fisher-Yates, so the first minutes do not always tell the story in the same order.
  for (let i = tour.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[tour[i], tour[j]] = [tour[j]!, tour[i]!]
  }
  return {
    pods: createPods(random, pods).map((pod) => ({ pod, busyUntil: 0 })),
    configValues: Object.fromEntries(DEMO_CONFIGS.map((config) => [configKey(config), config.values[0]!])),
    pending: [],
    series: {},
    tour,
    seq: 0,
  }
}

/**
 * Advances the simulation to `now`: maybe plans a new happening (with `happeningChance`), then
 * emits every planned step due by `now`, each event stamped with its planned time. The given state
 * is left untouched.
 */
export function advanceDemo(state: DemoState, random: Random, now: number, options: AdvanceOptions): DemoStep {
  const next = structuredClone(state)
  const output: Omit<DemoStep, 'state'> = { events: [], catalog: [], podsChanged: false }
  advanceInPlace(next, random, now, options, output)
  return { state: next, ...output }
}

/**
 * Simulates `from`..`to` in ticks of `tickMs` and returns everything emitted: history for a console
 * opened for the first time. Steps planned beyond `to` stay pending in the returned state, so a
 * crash loop still running at `to` keeps bumping its count live.
 */
export function backfillDemo(state: DemoState, random: Random, from: number, to: number, options: BackfillOptions): DemoStep {
  const next = structuredClone(state)
  const output: Omit<DemoStep, 'state'> = { events: [], catalog: [], podsChanged: false }
  for (let t = from; t < to; t += options.tickMs) advanceInPlace(next, random, Math.round(t), options, output)
  // A last advance without new plans flushes what came due between the last tick and `to`.
  advanceInPlace(next, random, to, { happeningChance: 0 }, output)
  return { state: next, ...output }
}

/** The pods of a state, as the `pods` checkpoint stores them. */
export function podsOf(state: DemoState): DemoPod[] {
  return state.pods.map((entry) => entry.pod)
}

function advanceInPlace(state: DemoState, random: Random, now: number, options: AdvanceOptions, output: Omit<DemoStep, 'state'>): void {
  if (random() < options.happeningChance) output.podsChanged = plan(state, random, now) || output.podsChanged
  let due = 0
  while (due < state.pending.length && state.pending[due]!.at <= now) due++
  for (const step of state.pending.splice(0, due)) {
    if (step.catalog) output.catalog.push(...step.catalog)
    if (step.event) output.events.push(emit(state, step, step.event))
  }
}

/** Gives a due step's event its id, time and (for a series) count. */
function emit(state: DemoState, step: ScriptStep, draft: EventDraft): IngestEvent {
  const newId = () => `demo:${step.at.toString(36)}-${(state.seq++).toString(36)}`
  if (step.series === undefined) return { ...draft, id: newId(), time: step.at }
  const series = state.series[step.series] ?? { id: newId(), firstTime: step.at, count: 0 }
  series.count++
  if (step.endsSeries) delete state.series[step.series]
  else state.series[step.series] = series
  return { ...draft, id: series.id, time: step.at, firstTime: series.firstTime, count: series.count }
}

/** Plans a new happening at `now`; returns whether pods were replaced. */
function plan(state: DemoState, random: Random, now: number): boolean {
  const happening = state.tour.shift() ?? pickWeighted(random)
  const idle = state.pods.filter((entry) => entry.busyUntil <= now)
  // One crash loop at a time: a demo where everything is failing shows nothing.
  const crashLooping = state.pods.some((entry) => entry.busyUntil > now && entry.activity === 'crashloop')
  if (happening === 'config') {
    schedule(state, planConfigChange(state, random, now))
    return false
  }
  // Every pod is already busy with a story: skip rather than pile a second one onto a pod.
  if (idle.length === 0 || (happening === 'crashloop' && crashLooping)) return false
  const target = pickOne(random, idle)
  const script =
    happening === 'readiness' ? planReadinessFlap(random, target.pod, now)
    : happening === 'crashloop' ? planCrashLoop(random, target.pod, now)
    : planReschedule(state, random, target, now)
  target.busyUntil = Math.max(...script.map((step) => step.at))
  target.activity = happening
  schedule(state, script)
  return happening === 'reschedule'
}

function pickWeighted(random: Random): Happening {
  let roll = random()
  for (const happening of HAPPENINGS) {
    roll -= HAPPENING_WEIGHTS[happening]
    if (roll < 0) return happening
  }
  return 'config'
}

function schedule(state: DemoState, steps: readonly ScriptStep[]): void {
  // Stable sort: steps planned for the same millisecond keep the order they were written in.
  state.pending = [...state.pending, ...steps].sort((a, b) => a.at - b.at)
}

/** A time `min`..`max` ms after `from`, whole milliseconds. */
function after(random: Random, from: number, min: number, max: number): number {
  return Math.round(from + min + random() * (max - min))
}

// --- Happenings -------------------------------------------------------------------------------

/** Kubelet readiness probe fails three times, the registry marks the instance unhealthy, later it recovers. */
function planReadinessFlap(random: Random, pod: DemoPod, now: number): ScriptStep[] {
  const app = applicationOf(pod)
  const message = pickOne(random, [
    `Readiness probe failed: Get "http://${pod.ip}:8080/actuator/health/readiness": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
    'Readiness probe failed: HTTP probe failed with statuscode: 503',
    `Readiness probe failed: dial tcp ${pod.ip}:8080: connect: connection refused`,
  ])
  const failures = 1 + Math.floor(random() * 3)
  const series = `unhealthy:${pod.name}:${now}`
  const steps: ScriptStep[] = []
  // The probe runs every 10 s; every failure is one more occurrence of the same kubelet event.
  for (let i = 0; i < failures; i++) {
    steps.push({ at: now + i * 10_000, series, endsSeries: i === failures - 1, event: podEvent(app, pod, 'warning', 'Unhealthy', message) })
  }
  const unhealthyAt = after(random, now + (failures - 1) * 10_000, 1_000, 5_000)
  steps.push({ at: unhealthyAt, event: healthEvent(app, pod, false) })
  steps.push({ at: after(random, unhealthyAt, 20_000, 120_000), event: healthEvent(app, pod, true) })
  return steps
}

/** The container keeps crashing: registrations drop, BackOff repeats with kubelet's doubling delay, then it comes back. */
function planCrashLoop(random: Random, pod: DemoPod, now: number): ScriptStep[] {
  const app = applicationOf(pod)
  const unregisterAt = after(random, now, 500, 3_000)
  const steps: ScriptStep[] = [{ at: unregisterAt, catalog: registryGoneCatalog(pod) }, ...unregisterSteps(app, pod, unregisterAt)]
  const occurrences = 3 + Math.floor(random() * 6)
  const series = `backoff:${pod.name}:${now}`
  const message = `Back-off restarting failed container ${app.name} in pod ${pod.name}_${DEMO_NAMESPACE}(${pod.uid})`
  let at = after(random, now, 8_000, 15_000)
  for (let i = 0; i < occurrences; i++) {
    steps.push({ at, series, endsSeries: i === occurrences - 1, event: podEvent(app, pod, 'warning', 'BackOff', message) })
    // Kubelet's restart back-off: 10 s doubling up to 5 min, plus the container's short run.
    at = after(random, at, Math.min(10_000 * 2 ** (i + 1), 300_000), Math.min(10_000 * 2 ** (i + 1), 300_000) + 5_000)
  }
  const pulled = at
  const started = after(random, pulled, 200, 900)
  steps.push(
    { at: pulled, event: podEvent(app, pod, 'normal', 'Pulled', `Container image "${app.image}" already present on machine`) },
    { at: after(random, pulled, 50, 150), event: podEvent(app, pod, 'normal', 'Created', `Created container ${app.name}`) },
    { at: started, event: podEvent(app, pod, 'normal', 'Started', `Started container ${app.name}`) },
    ...registerSteps(app, pod, after(random, started, 8_000, 20_000)),
  )
  return steps
}

/** The pod is evicted and replaced by a new one on another node (same ReplicaSet), which pulls, starts and registers. */
function planReschedule(state: DemoState, random: Random, target: DemoPodState, now: number): ScriptStep[] {
  const old = target.pod
  const app = applicationOf(old)
  const others = DEMO_NODES.filter((node) => node !== old.node)
  const pod = createPod(random, app, pickOne(random, others.length > 0 ? others : DEMO_NODES), podsOf(state))
  target.pod = pod
  const scheduled = after(random, now, 200, 900)
  const pulling = after(random, scheduled, 300, 1_500)
  const pullMs = Math.round(1_500 + random() * 10_000)
  const pulled = pulling + pullMs
  const created = after(random, pulled, 50, 300)
  const started = after(random, created, 50, 300)
  const pullSeconds = (pullMs / 1000).toFixed(3)
  const imageBytes = 120_000_000 + Math.floor(random() * 200_000_000)
  return [
    {
      at: now,
      event: podEvent(app, old, 'normal', 'Killing', `Stopping container ${app.name}`),
      // The old pod and its registry instance leave the catalog right away, in the same write as the
      // `pods` checkpoint, so a restart never resurrects them.
      catalog: [
        { op: 'instance-gone', mesh: DEMO_MESH, name: old.name },
        ...registryGoneCatalog(old),
        { op: 'instance', instance: podInstance(pod, 'Pending') },
      ],
    },
    ...unregisterSteps(app, old, after(random, now, 300, 2_000)),
    {
      at: scheduled,
      event: { ...podEvent(app, pod, 'normal', 'Scheduled', `Successfully assigned ${DEMO_NAMESPACE}/${pod.name} to ${pod.node}`), component: 'default-scheduler', object: podObject(pod) },
    },
    { at: pulling, event: podEvent(app, pod, 'normal', 'Pulling', `Pulling image "${app.image}"`) },
    {
      at: pulled,
      event: podEvent(app, pod, 'normal', 'Pulled', `Successfully pulled image "${app.image}" in ${pullSeconds}s (${pullSeconds}s including waiting). Image size: ${imageBytes} bytes.`),
    },
    { at: created, event: podEvent(app, pod, 'normal', 'Created', `Created container ${app.name}`) },
    { at: started, event: podEvent(app, pod, 'normal', 'Started', `Started container ${app.name}`), catalog: [{ op: 'instance', instance: podInstance(pod, 'Running') }] },
    ...registerSteps(app, pod, after(random, started, 8_000, 25_000)),
  ]
}

/** An operator flips a router or configurator: one `ConfigUpdated`. */
function planConfigChange(state: DemoState, random: Random, now: number): ScriptStep[] {
  const config = pickOne(random, DEMO_CONFIGS)
  const key = configKey(config)
  const previous = state.configValues[key] ?? config.values[0]!
  const value = pickOne(random, config.values.filter((candidate) => candidate !== previous))
  state.configValues[key] = value
  const event: EventDraft = {
    type: 'normal',
    reason: 'ConfigUpdated',
    message: `${config.kind} ${config.key}: ${config.field} ${previous} -> ${value}`,
    source: 'demo',
    component: 'registry',
    mesh: DEMO_MESH,
    object: { kind: 'DynamicConfig', name: `/dubbo/config/dubbo/${key}` },
    application: config.application,
    category: 'config',
    action: 'updated',
  }
  if (config.service !== undefined) event.service = config.service
  return [{ at: now, event }]
}

function configKey(config: DemoConfig): string {
  return `${config.key}.${config.kind}`
}

// --- Event builders ---------------------------------------------------------------------------

function podObject(pod: DemoPod): IngestEvent['object'] {
  return { kind: 'Pod', name: pod.name, namespace: DEMO_NAMESPACE, uid: pod.uid }
}

/** A kubelet event about the pod's container. */
function podEvent(app: DemoApplication, pod: DemoPod, type: IngestEvent['type'], reason: string, message: string): EventDraft {
  return {
    type,
    reason,
    message,
    source: 'demo',
    component: 'kubelet',
    host: pod.node,
    mesh: DEMO_MESH,
    object: { ...podObject(pod), fieldPath: `spec.containers{${app.name}}` },
    application: app.name,
    instance: pod.name,
    ip: pod.ip,
  }
}

/** A registry event about the pod's `ip:port` instance and one interface. */
function registryEvent(app: DemoApplication, pod: DemoPod, side: 'provider' | 'consumer', service: string, registered: boolean): EventDraft {
  const address = registryAddress(pod)
  const label = side === 'provider' ? 'Provider' : 'Consumer'
  return {
    // Losing a provider can break callers; losing a consumer cannot (CONTRACT section 4).
    type: side === 'provider' && !registered ? 'warning' : 'normal',
    reason: `${label}${registered ? 'Registered' : 'Unregistered'}`,
    message: `${label} ${registered ? 'registered' : 'unregistered'}: ${app.name} ${address} -> ${service}`,
    source: 'demo',
    component: 'registry',
    mesh: DEMO_MESH,
    object: { kind: label, name: side === 'provider' ? `dubbo://${address}/${service}` : `consumer://${pod.ip}/${service}` },
    application: app.name,
    instance: address,
    ip: pod.ip,
    service,
    category: side,
    action: registered ? 'registered' : 'deregistered',
  }
}

/** The registry's health check flipping for the pod's instance (Nacos-style `healthy`). */
function healthEvent(app: DemoApplication, pod: DemoPod, healthy: boolean): EventDraft {
  const address = registryAddress(pod)
  const services = [...app.provides.map((service) => service.name), ...app.consumes]
  const event: EventDraft = {
    type: healthy ? 'normal' : 'warning',
    reason: healthy ? 'InstanceHealthy' : 'InstanceUnhealthy',
    message: `Instance ${healthy ? 'healthy' : 'unhealthy'}: ${app.name} ${address} -> ${services.join(', ')} (healthy ${!healthy} -> ${healthy})`,
    source: 'demo',
    component: 'registry',
    mesh: DEMO_MESH,
    object: { kind: 'Instance', name: address },
    application: app.name,
    instance: address,
    ip: pod.ip,
    category: 'instance',
    action: 'updated',
  }
  // The first interface is the event's own service; the rest are linked so each service's timeline shows it.
  const [service, ...more] = services
  if (service !== undefined) event.service = service
  if (more.length > 0) event.services = more
  return event
}

/** Provider and consumer registrations of a pod coming up, with the catalog links they create. */
function registerSteps(app: DemoApplication, pod: DemoPod, at: number): ScriptStep[] {
  return [
    { at, catalog: registryCatalog(pod) },
    ...app.provides.map((service, i) => ({ at: at + i * 15, event: registryEvent(app, pod, 'provider', service.name, true) })),
    ...app.consumes.map((service, i) => ({ at: at + 100 + i * 15, event: registryEvent(app, pod, 'consumer', service, true) })),
  ]
}

/** Provider and consumer registrations of a pod going away (session expired or shutdown hook); callers drop the catalog links. */
function unregisterSteps(app: DemoApplication, pod: DemoPod, at: number): ScriptStep[] {
  return [
    ...app.provides.map((service, i) => ({ at: at + i * 15, event: registryEvent(app, pod, 'provider', service.name, false) })),
    ...app.consumes.map((service, i) => ({ at: at + i * 15, event: registryEvent(app, pod, 'consumer', service, false) })),
  ]
}
