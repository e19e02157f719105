export type { EventItem, EventObject, EventSource, EventType } from './events.ts'
export { EVENT_SOURCES, EVENT_TYPES } from './events.ts'
export type {
  ApplicationDetail,
  ApplicationSummary,
  Instance,
  Mesh,
  MeshCounts,
  MeshKind,
  MeshStatus,
  ServiceDetail,
  ServiceSummary,
} from './resources.ts'
export { MESH_KINDS, MESH_STATUSES } from './resources.ts'
export type {
  DubboAdminEventList,
  DubboAdminResponse,
  ErrorBody,
  ErrorCode,
  EventPage,
  ListResponse,
  Page,
  PostEventsResponse,
} from './api.ts'
export { API_PREFIX, DEFAULT_PAGE_LIMIT, ERROR_CODES, MAX_PAGE_LIMIT, MAX_POST_EVENTS, TOTAL_COUNT_CAP } from './api.ts'
export type { ExportQuery, FacetsQuery, GapsQuery, HistogramQuery, PostEvent, ResourceListQuery, TimelineQuery, TimelineQueryInput } from './schemas.ts'
export {
  describeIssue,
  dubboAdminApplicationSchema,
  dubboAdminInstanceSchema,
  dubboAdminServiceSchema,
  exportQuerySchema,
  facetsQuerySchema,
  gapsQuerySchema,
  histogramQuerySchema,
  meshQuerySchema,
  postEventSchema,
  postEventListSchema,
  resourceListQuerySchema,
  timelineQuerySchema,
} from './schemas.ts'
export { parseDuration, parseIsoTime, parseTimeBound, toIso } from './time.ts'
export type { ExportFormat, FacetCount, FacetField, Facets, Gap, GapReason, Histogram, HistogramBucket } from './timelineViews.ts'
export {
  DEFAULT_EXPORT_MAX,
  DEFAULT_HISTOGRAM_BUCKETS,
  EXPORT_CSV_COLUMNS,
  EXPORT_FORMATS,
  FACET_FIELDS,
  GAP_REASONS,
  MAX_EXPORT_MAX,
  MAX_FACET_VALUES,
  MAX_HISTOGRAM_BUCKETS,
} from './timelineViews.ts'
