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
export type { PostEvent, ResourceListQuery, TimelineQuery, TimelineQueryInput } from './schemas.ts'
export {
  describeIssue,
  dubboAdminApplicationSchema,
  dubboAdminInstanceSchema,
  dubboAdminServiceSchema,
  instanceListQuerySchema,
  meshQuerySchema,
  noQuerySchema,
  postEventSchema,
  postEventListSchema,
  resourceListQuerySchema,
  streamQuerySchema,
  timelineQuerySchema,
} from './schemas.ts'
export { parseDuration, parseIsoTime, parseTimeBound, toIso } from './time.ts'
