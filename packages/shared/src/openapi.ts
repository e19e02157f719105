/**
 * The OpenAPI 3.1 document of every `/api/v1` endpoint, generated from the zod schemas that
 * validate the requests (`schemas.ts`) and from the response schemas (`responseSchemas.ts`), so the
 * description cannot drift from what the server accepts. The server serves it at
 * `GET /api/v1/openapi.json`; `pnpm openapi` writes it to `docs/openapi.json`.
 *
 * Every zod schema exported by `schemas.ts` appears under `components.schemas` (a schema added
 * there shows up on the next generation); each endpoint is one entry of `API_OPERATIONS`, and a
 * server test fails when the router has a route this table does not describe, or the reverse.
 *
 * Known limits (candidly): query parameters are described as their input strings (a `limit` is a
 * string of digits, as on the wire); checks written as code (`refine`, `transform`) appear only
 * through their descriptions; Server-Sent Events and downloads are described as media types only.
 */
import { z } from 'zod'
import { API_PREFIX } from './api.ts'
import {
  applicationDetailSchema,
  applicationPageSchema,
  dubboAdminResponseSchema,
  errorBodySchema,
  eventItemSchema,
  eventPageSchema,
  facetsSchema,
  gapListSchema,
  histogramSchema,
  instancePageSchema,
  instanceSchema,
  meshListSchema,
  postEventsResponseSchema,
  serviceDetailSchema,
  servicePageSchema,
} from './responseSchemas.ts'
import * as requestSchemas from './schemas.ts'
import {
  dubboAdminApplicationSchema,
  dubboAdminInstanceSchema,
  dubboAdminServiceSchema,
  meshQuerySchema,
  postEventListSchema,
  postEventSchema,
  resourceListQuerySchema,
  timelineQuerySchema,
} from './schemas.ts'

type JsonObject = { [key: string]: unknown }

interface Reply {
  description: string
  /** A response schema; its `id` meta names the component it is referenced as. */
  schema?: z.ZodType
  /** Media types other than JSON (a stream, a download), described without a schema. */
  mediaType?: string
  mediaTypes?: string[]
}

/** One endpoint. `path` uses OpenAPI's `{name}`; `query` is the object schema of its parameters. */
export interface ApiOperation {
  method: 'get' | 'post'
  path: string
  operationId: string
  summary: string
  tag: 'events' | 'catalog' | 'dubbo-admin' | 'meta'
  query?: z.ZodObject
  /** Path parameters and what they name. */
  pathParams?: Record<string, string>
  headers?: Array<{ name: string; description: string }>
  body?: { schema: z.ZodType; description: string }
  responses: Record<number, Reply>
  /** Requires the bearer token even when none is configured (`POST /events`). */
  tokenAlways?: boolean
}

const error = (description: string): Reply => ({ description, schema: errorBodySchema })
const badRequest = error('A parameter is malformed or out of range; `field` names it')
const notFound = error('No such entity')
const unavailable = error('The query ran over its time budget or the store is unavailable (with Retry-After)')

const timelineReplies = { 200: { description: 'One page of events, newest first', schema: eventPageSchema }, 400: badRequest, 503: unavailable }
const entity = (what: string) => ({ name: what })

/**
 * A request schema `schemas.ts` may export, by name. Endpoints whose schema another change adds
 * (the timeline views, the event by id) are described as soon as it exists; the server test that
 * compares this table with the router keeps that honest in both directions.
 */
function exported(name: string): z.ZodObject | undefined {
  const value = (requestSchemas as Record<string, unknown>)[name]
  return value instanceof z.ZodObject ? value : undefined
}

const TIMELINES = [
  { path: '/events', id: 'Events', what: 'every event' },
  { path: '/applications/{name}/events', id: 'ApplicationEvents', what: "an application's timeline", pathParams: entity('application name') },
  { path: '/instances/{name}/events', id: 'InstanceEvents', what: "an instance's timeline", pathParams: entity('pod name, IP, ip:port or <application>@<ip>') },
  { path: '/services/{name}/events', id: 'ServiceEvents', what: "a service's timeline", pathParams: entity('service name') },
]

/** `P/histogram`, `P/facets`, `P/export` of each timeline `P`, and `/gaps`, once their schemas exist. */
function timelineViewOperations(): ApiOperation[] {
  const histogram = exported('histogramQuerySchema')
  const facets = exported('facetsQuerySchema')
  const download = exported('exportQuerySchema')
  const gaps = exported('gapsQuerySchema')
  const operations: ApiOperation[] = []
  for (const { path, id, what, pathParams } of TIMELINES) {
    const params = pathParams ? { pathParams } : {}
    if (histogram) {
      operations.push({
        method: 'get',
        path: `${path}/histogram`,
        operationId: `histogram${id}`,
        summary: `Event counts over time (normal, warning) of ${what}, with the gaps in ingestion`,
        tag: 'events',
        ...params,
        query: histogram,
        responses: { 200: { description: 'Buckets, oldest first', schema: histogramSchema }, 400: badRequest, 503: unavailable },
      })
    }
    if (facets) {
      operations.push({
        method: 'get',
        path: `${path}/facets`,
        operationId: `facets${id}`,
        summary: `The most frequent values of one field in ${what}`,
        tag: 'events',
        ...params,
        query: facets,
        responses: { 200: { description: 'The 50 largest values first', schema: facetsSchema }, 400: badRequest, 503: unavailable },
      })
    }
    if (download) {
      operations.push({
        method: 'get',
        path: `${path}/export`,
        operationId: `export${id}`,
        summary: `Every match of ${what} as a CSV or NDJSON download, newest first`,
        tag: 'events',
        ...params,
        query: download,
        responses: {
          200: { description: 'A download (Content-Disposition: attachment); CSV with a header row, or one JSON event per line', mediaTypes: ['text/csv', 'application/x-ndjson'] },
          400: badRequest,
        },
      })
    }
  }
  if (gaps) {
    operations.push({
      method: 'get',
      path: '/gaps',
      operationId: 'listGaps',
      summary: 'Periods longer than 60 s in which a source of a mesh was not ingesting',
      tag: 'events',
      query: gaps,
      responses: { 200: { description: 'The gaps', schema: gapListSchema }, 400: badRequest },
    })
  }
  return operations
}

/** `GET /events/{id}`, once the endpoint (and its parameter-less query schema) exists. */
function eventByIdOperation(): ApiOperation[] {
  const noQuery = exported('noQuerySchema')
  if (!noQuery) return []
  return [
    {
      method: 'get',
      path: '/events/{id}',
      operationId: 'getEvent',
      summary: 'One event by its id',
      tag: 'events',
      pathParams: { id: 'the event id' },
      query: noQuery,
      responses: { 200: { description: 'The event', schema: eventItemSchema }, 400: badRequest, 404: notFound },
    },
  ]
}

/** Every `/api/v1` endpoint, in the order the document lists them. */
export const API_OPERATIONS: ApiOperation[] = [
  {
    method: 'get',
    path: '/events',
    operationId: 'listEvents',
    summary: 'Timeline of every event, with filters; follow nextCursor for the next page',
    tag: 'events',
    query: timelineQuerySchema,
    responses: timelineReplies,
  },
  {
    method: 'post',
    path: '/events',
    operationId: 'postEvents',
    summary: 'Records one event or an array of up to 1000; re-posting an id updates it',
    tag: 'events',
    tokenAlways: true,
    body: { schema: z.union([postEventSchema, postEventListSchema]), description: 'One event, or an array of events' },
    responses: {
      202: { description: 'Accepted and stored', schema: postEventsResponseSchema },
      400: error('An item is invalid; `field` names its index and field; nothing was stored'),
      403: error('No token is configured (EVENTLINE_TOKEN), so posting is refused'),
      413: error('The body is too large'),
    },
  },
  {
    method: 'get',
    path: '/events/stream',
    operationId: 'streamEvents',
    summary: 'Server-Sent Events of new and updated events (event: event, id: sequence, data: EventItem)',
    tag: 'events',
    query: exported('streamQuerySchema') ?? timelineQuerySchema.omit({ limit: true, cursor: true }),
    headers: [{ name: 'Last-Event-ID', description: 'Resume after this event sequence (sent by EventSource on reconnect)' }],
    responses: { 200: { description: 'An endless event stream; a comment heartbeat every 15 s', mediaType: 'text/event-stream' }, 400: badRequest, 503: error('Too many open streams; retry after Retry-After') },
  },
  {
    method: 'get',
    path: '/applications/{name}/events',
    operationId: 'listApplicationEvents',
    summary: "An application's timeline, with the Kubernetes events of its pods, nodes and workloads",
    tag: 'events',
    pathParams: entity('application name'),
    query: timelineQuerySchema,
    responses: timelineReplies,
  },
  {
    method: 'get',
    path: '/instances/{name}/events',
    operationId: 'listInstanceEvents',
    summary: "An instance's timeline; name is a pod name, an IP, ip:port or <application>@<ip>",
    tag: 'events',
    pathParams: entity('pod name, IP, ip:port or <application>@<ip>'),
    query: timelineQuerySchema,
    responses: timelineReplies,
  },
  {
    method: 'get',
    path: '/services/{name}/events',
    operationId: 'listServiceEvents',
    summary: "A service's timeline",
    tag: 'events',
    pathParams: entity('Dubbo interface or Kubernetes Service name'),
    query: timelineQuerySchema,
    responses: timelineReplies,
  },
  ...timelineViewOperations(),
  ...eventByIdOperation(),
  {
    method: 'get',
    path: '/meshes',
    operationId: 'listMeshes',
    summary: 'Every mesh (registry, cluster, demo, posted) with its live status and counts',
    tag: 'catalog',
    responses: { 200: { description: 'The meshes', schema: meshListSchema } },
  },
  {
    method: 'get',
    path: '/applications',
    operationId: 'listApplications',
    summary: 'Applications, by mesh and name',
    tag: 'catalog',
    query: resourceListQuerySchema,
    responses: { 200: { description: 'One page of applications', schema: applicationPageSchema }, 400: badRequest },
  },
  {
    method: 'get',
    path: '/applications/{name}',
    operationId: 'getApplication',
    summary: 'An application with its instances and services',
    tag: 'catalog',
    pathParams: entity('application name'),
    query: meshQuerySchema,
    responses: { 200: { description: 'The application', schema: applicationDetailSchema }, 400: badRequest, 404: notFound },
  },
  {
    method: 'get',
    path: '/instances',
    operationId: 'listInstances',
    summary: 'Instances (pods and registry instances), by mesh and name',
    tag: 'catalog',
    query: exported('instanceListQuerySchema') ?? resourceListQuerySchema,
    responses: { 200: { description: 'One page of instances', schema: instancePageSchema }, 400: badRequest },
  },
  {
    method: 'get',
    path: '/instances/{name}',
    operationId: 'getInstance',
    summary: 'One instance',
    tag: 'catalog',
    pathParams: entity('instance name'),
    query: meshQuerySchema,
    responses: { 200: { description: 'The instance', schema: instanceSchema }, 400: badRequest, 404: notFound },
  },
  {
    method: 'get',
    path: '/services',
    operationId: 'listServices',
    summary: 'Services with provider and consumer counts, by mesh and name',
    tag: 'catalog',
    query: resourceListQuerySchema,
    responses: { 200: { description: 'One page of services', schema: servicePageSchema }, 400: badRequest },
  },
  {
    method: 'get',
    path: '/services/{name}',
    operationId: 'getService',
    summary: 'A service with its provider and consumer instances',
    tag: 'catalog',
    pathParams: entity('service name'),
    query: meshQuerySchema,
    responses: { 200: { description: 'The service', schema: serviceDetailSchema }, 400: badRequest, 404: notFound },
  },
  {
    method: 'get',
    path: '/application/event',
    operationId: 'dubboAdminApplicationEvents',
    summary: "An application's events in apache/dubbo-admin's console format (offset paging)",
    tag: 'dubbo-admin',
    query: dubboAdminApplicationSchema,
    responses: { 200: { description: 'Events, or code InvalidArgument with the reason in message', schema: dubboAdminResponseSchema } },
  },
  {
    method: 'get',
    path: '/instance/event',
    operationId: 'dubboAdminInstanceEvents',
    summary: "An instance's events in apache/dubbo-admin's console format; instanceName and ip are alternatives",
    tag: 'dubbo-admin',
    query: dubboAdminInstanceSchema,
    responses: { 200: { description: 'Events, or code InvalidArgument with the reason in message', schema: dubboAdminResponseSchema } },
  },
  {
    method: 'get',
    path: '/service/event',
    operationId: 'dubboAdminServiceEvents',
    summary: "A service's events in apache/dubbo-admin's console format, narrowed by appName when given",
    tag: 'dubbo-admin',
    query: dubboAdminServiceSchema,
    responses: { 200: { description: 'Events, or code InvalidArgument with the reason in message', schema: dubboAdminResponseSchema } },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This document',
    tag: 'meta',
    responses: { 200: { description: 'The OpenAPI 3.1 document', mediaType: 'application/json' } },
  },
]

const JSON_SCHEMA_OPTIONS = { target: 'draft-2020-12', unrepresentable: 'any' } as const

/** A JSON Schema without the keys that only make sense at a document's root. */
function bare(schema: JsonObject): JsonObject {
  const { $schema: _schema, $id: _id, ...rest } = schema
  return rest
}

/**
 * Response schemas leave `additionalProperties` open: a client generated today keeps working when
 * a later version adds a field.
 */
function open(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(open)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).filter(([key, item]) => !(key === 'additionalProperties' && item === false)).map(([key, item]) => [key, open(item)]))
}

/** `timelineQuerySchema` -> `TimelineQuery`: the component name of an exported request schema. */
function componentName(exportName: string): string {
  const base = exportName.replace(/Schema$/, '')
  return base.charAt(0).toUpperCase() + base.slice(1)
}

function responseId(schema: z.ZodType): string | undefined {
  const id = z.globalRegistry.get(schema)?.id
  return typeof id === 'string' ? id : undefined
}

const DIGITS = new Set(['^\\d+$', '^\\d*$'])

/**
 * Query parameters as the client sends them. A parameter that is digits on the wire (`limit`,
 * `pageSize`) is described as the integer it is read as, with its bounds and default.
 */
function queryParameters(query: z.ZodObject): JsonObject[] {
  const input = z.toJSONSchema(query, { ...JSON_SCHEMA_OPTIONS, io: 'input' }) as JsonObject
  const output = z.toJSONSchema(query, { ...JSON_SCHEMA_OPTIONS, io: 'output' }) as JsonObject
  const properties = (input.properties ?? {}) as Record<string, JsonObject>
  const read = (output.properties ?? {}) as Record<string, JsonObject>
  const required = new Set((input.required ?? []) as string[])
  return Object.entries(properties).map(([name, property]) => {
    const asRead = read[name]
    const integer = typeof property.pattern === 'string' && DIGITS.has(property.pattern) && asRead?.type === 'integer'
    const { description, ...schema } = integer ? { ...asRead, description: property.description ?? asRead.description } : property
    return { name, in: 'query', required: required.has(name), ...(typeof description === 'string' ? { description } : {}), schema }
  })
}

function operationObject(operation: ApiOperation, responseRef: (schema: z.ZodType) => JsonObject): JsonObject {
  const parameters: JsonObject[] = [
    ...Object.entries(operation.pathParams ?? {}).map(([name, description]) => ({ name, in: 'path', required: true, description, schema: { type: 'string', minLength: 1 } })),
    ...(operation.headers ?? []).map(({ name, description }) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } })),
    ...(operation.query ? queryParameters(operation.query) : []),
  ]
  const responses: JsonObject = {}
  for (const [status, reply] of Object.entries(operation.responses)) {
    const others = [...(reply.mediaType ? [reply.mediaType] : []), ...(reply.mediaTypes ?? [])]
    const media = reply.schema ? { 'application/json': { schema: responseRef(reply.schema) } } : others.length > 0 ? Object.fromEntries(others.map((type) => [type, {}])) : undefined
    responses[status] = { description: reply.description, ...(media ? { content: media } : {}) }
  }
  responses['401'] = { description: 'A token is configured and the request does not carry it', content: { 'application/json': { schema: responseRef(errorBodySchema) } } }
  responses['500'] = { description: 'Internal error (no internals are disclosed)', content: { 'application/json': { schema: responseRef(errorBodySchema) } } }
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    tags: [operation.tag],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(operation.body
      ? {
          requestBody: {
            required: true,
            description: operation.body.description,
            content: { 'application/json': { schema: bare(z.toJSONSchema(operation.body.schema, { ...JSON_SCHEMA_OPTIONS, io: 'input' }) as JsonObject) } },
          },
        }
      : {}),
    responses,
    ...(operation.tokenAlways ? { security: [{ bearerToken: [] }] } : {}),
  }
}

/** The OpenAPI 3.1 document of the API (`version`: the server's version). */
export function buildOpenApiDocument(version: string): JsonObject {
  // Response components: every schema with an `id` (responseSchemas.ts), references between them kept.
  const registered = z.toJSONSchema(z.globalRegistry, { ...JSON_SCHEMA_OPTIONS, io: 'output', uri: (id) => `#/components/schemas/${id}` })
  const schemas: JsonObject = {}
  for (const [id, schema] of Object.entries(registered.schemas)) schemas[id] = open(bare(schema as JsonObject))
  // Request components: every zod schema schemas.ts exports, as the client sends it.
  for (const [exportName, value] of Object.entries(requestSchemas)) {
    if (!(value instanceof z.ZodType)) continue
    schemas[componentName(exportName)] = bare(z.toJSONSchema(value, { ...JSON_SCHEMA_OPTIONS, io: 'input' }) as JsonObject)
  }
  const responseRef = (schema: z.ZodType): JsonObject => {
    const id = responseId(schema)
    return id ? { $ref: `#/components/schemas/${id}` } : (open(bare(z.toJSONSchema(schema, { ...JSON_SCHEMA_OPTIONS, io: 'output' }) as JsonObject)) as JsonObject)
  }

  const paths: JsonObject = {}
  for (const operation of API_OPERATIONS) {
    const item = (paths[operation.path] ??= {}) as JsonObject
    item[operation.method] = operationObject(operation, responseRef)
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Eventline API',
      version,
      description:
        'Kubernetes and Dubbo registry events of a service mesh, on one timeline. Errors answer { error: { code, message, field? } }. ' +
        'When the server has a token (EVENTLINE_TOKEN), every request needs Authorization: Bearer <token> (?token= is accepted for the event stream). ' +
        'An unknown query parameter is a 400 naming it, except on the Dubbo admin compatible endpoints.',
    },
    servers: [{ url: API_PREFIX }],
    security: [{}, { bearerToken: [] }],
    tags: [
      { name: 'events', description: 'Timelines and event ingestion' },
      { name: 'catalog', description: 'Meshes, applications, instances and services' },
      { name: 'dubbo-admin', description: "apache/dubbo-admin's console API, for its event tabs" },
      { name: 'meta', description: 'This description' },
    ],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: { bearerToken: { type: 'http', scheme: 'bearer', description: 'The value of EVENTLINE_TOKEN' } },
    },
  }
}
