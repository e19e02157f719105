/**
 * The timeline shapes both timeline runs (SQLite and PostgreSQL) sample, and their figures: one
 * choice of shapes from what was stored, whichever engine stored it.
 */
import type { TimelineFilter } from '../src/store/types.ts'
import { percentile, round } from './results.ts'

export interface Shape {
  name: string
  /** Path and query without limit and cursor. */
  path: string
  viewEvents: number
  mesh: string
  application?: string
  filter: TimelineFilter
}

export interface ShapeFigures {
  url: string
  viewEvents: number
  walkedEvents: number
  samples: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /**
   * The same kind of pages read from the store in-process, through its reader threads on SQLite (the
   * path the HTTP handlers take): the part of the latency that is the store.
   */
  storeP50Ms: number
  storeP99Ms: number
  /** SQLite only: the same pages from a store on the bench's thread (no hop), sampled alternately. */
  directP50Ms?: number
  directP99Ms?: number
}

/** One entity view of a mesh and how many events it lists. */
export interface ViewSize {
  mesh: string
  entity: string
  n: number
}

type EntityKind = 'application' | 'instance' | 'service'

/**
 * The five shapes: the largest application, a small one (at the 90th percentile of sizes), the
 * largest instance and service, and the busiest mesh. Views come largest first. With `everyMesh`
 * (the events of the largest application's name in any mesh), a sixth: that application with no
 * `mesh`, served from its views in each mesh.
 */
export function timelineShapes(views: Record<EntityKind, readonly ViewSize[]>, busiest: { mesh: string; n: number }, everyMesh?: number): Shape[] {
  const applications = views.application
  const entityShape = (name: string, kind: EntityKind, view: ViewSize): Shape => ({
    name,
    path: `/api/v1/${kind}s/${encodeURIComponent(view.entity)}/events?mesh=${encodeURIComponent(view.mesh)}`,
    viewEvents: view.n,
    mesh: view.mesh,
    ...(kind === 'application' ? { application: view.entity } : {}),
    filter: { mesh: view.mesh, [kind]: view.entity },
  })
  return [
    entityShape('largest application', 'application', applications[0]!),
    entityShape('small application', 'application', applications[Math.floor(applications.length * 0.9)]!),
    entityShape('instance', 'instance', views.instance[0]!),
    entityShape('service', 'service', views.service[0]!),
    { name: 'mesh-wide', path: `/api/v1/events?mesh=${encodeURIComponent(busiest.mesh)}`, viewEvents: busiest.n, mesh: busiest.mesh, filter: { mesh: busiest.mesh } },
    ...(everyMesh === undefined
      ? []
      : [
          {
            name: 'largest application, every mesh',
            // `&limit=...` and the cursor follow the `?` (an empty first parameter is skipped).
            path: `/api/v1/applications/${encodeURIComponent(applications[0]!.entity)}/events?`,
            viewEvents: everyMesh,
            mesh: '',
            application: applications[0]!.entity,
            filter: { application: applications[0]!.entity },
          },
        ]),
  ]
}

/** A shape's figures from its page latencies over HTTP (`times`) and from the store alone. */
export function shapeFigures(shape: Shape, walked: number, times: readonly number[], storeTimes: readonly number[], directTimes?: readonly number[]): ShapeFigures {
  return {
    url: shape.path,
    viewEvents: shape.viewEvents,
    walkedEvents: walked,
    samples: times.length,
    p50Ms: round(percentile(times, 0.5)),
    p99Ms: round(percentile(times, 0.99)),
    maxMs: round(Math.max(...times)),
    storeP50Ms: round(percentile(storeTimes, 0.5)),
    storeP99Ms: round(percentile(storeTimes, 0.99)),
    ...(directTimes === undefined ? {} : { directP50Ms: round(percentile(directTimes, 0.5)), directP99Ms: round(percentile(directTimes, 0.99)) }),
  }
}

/** p50 / p99 / max of a view's latencies over HTTP (histograms, facets), with its path. */
export function latencyFigures(url: string, times: readonly number[]): { url: string; p50Ms: number; p99Ms: number; maxMs: number } {
  return { url, p50Ms: round(percentile(times, 0.5)), p99Ms: round(percentile(times, 0.99)), maxMs: round(Math.max(...times)) }
}
