/**
 * Shapes of the views derived from a timeline (CONTRACT section 3, "Further rules and
 * endpoints"): the event-rate histogram, value facets, exports, and the gaps in ingestion.
 */

export const DEFAULT_HISTOGRAM_BUCKETS = 60
export const MAX_HISTOGRAM_BUCKETS = 500
export const FACET_FIELDS = ['reason', 'namespace', 'kind', 'application', 'source', 'type'] as const
export type FacetField = (typeof FACET_FIELDS)[number]
/** Values a facet answer lists at most, largest first. */
export const MAX_FACET_VALUES = 50
export const EXPORT_FORMATS = ['csv', 'ndjson'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]
export const DEFAULT_EXPORT_MAX = 100_000
export const MAX_EXPORT_MAX = 1_000_000
/** The CSV header row of `P/export?format=csv`, in column order. */
export const EXPORT_CSV_COLUMNS = [
  'time', 'firstTime', 'count', 'type', 'reason', 'message', 'source', 'component', 'mesh',
  'kind', 'namespace', 'name', 'application', 'instance', 'ip', 'service',
] as const

/** Why a source of a mesh was not ingesting. */
export const GAP_REASONS = ['not-running', 'disconnected', 'failing'] as const
export type GapReason = (typeof GAP_REASONS)[number]

/**
 * A period longer than the gap threshold (60 s) in which a source of a mesh was not ingesting.
 * `to` is the time ingestion resumed, or the end of the asked range while it has not.
 */
export interface Gap {
  mesh: string
  /** The source kind: `kubernetes`, `zookeeper`, `nacos`, `demo`. */
  source: string
  from: string
  to: string
  reason: GapReason
  /** Events of the period may be missing for good (see the contract). */
  lossPossible: boolean
  /** True while the gap has not ended (the source is still not ingesting). */
  ongoing?: boolean
}

export interface HistogramBucket {
  /** ISO 8601 start of the bucket; it spans `bucketMs`. */
  start: string
  normal: number
  warning: number
}

export interface Histogram {
  since: string
  until: string
  bucketMs: number
  /** Oldest first. */
  buckets: HistogramBucket[]
  gaps: Gap[]
  /**
   * True when a filter that needs the event rows (q, namespace, kind, name, reason) matched more
   * rows than one histogram may read: the newest buckets are exact, older ones may be short.
   */
  capped?: boolean
}

export interface FacetCount {
  value: string
  count: number
}

export interface Facets {
  field: FacetField
  items: FacetCount[]
  /** True when the counts cover only the most recent matches (see the server's sample size). */
  capped: boolean
}
