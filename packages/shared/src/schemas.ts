/**
 * Runtime schemas of the API's inputs. The server validates with them; the web client builds
 * its requests from the same shapes, so both sides share one definition.
 */
import { z } from 'zod'
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, MAX_POST_EVENTS } from './api.ts'
import { DEFAULT_EXPORT_MAX, DEFAULT_HISTOGRAM_BUCKETS, EXPORT_FORMATS, FACET_FIELDS, MAX_EXPORT_MAX, MAX_HISTOGRAM_BUCKETS } from './timelineViews.ts'
import { EVENT_SOURCES, EVENT_TYPES } from './events.ts'
import type { EventSource, EventType } from './events.ts'
import { parseIsoTime, parseTimeBound } from './time.ts'

const MAX_NAME = 253 // a Kubernetes object name's limit; longer names are malformed everywhere
// Control characters are exactly what this refuses (they break logs, terminals and tables).
// eslint-disable-next-line no-control-regex
const NAME_PATTERN = /^[^\u0000-\u001f\u007f]+$/
// eslint-disable-next-line no-control-regex
const NO_CONTROL_PATTERN = /^[^\u0000-\u001f\u007f]*$/
const MESH_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

/** A query parameter given once; Express hands a repeated parameter over as an array. */
const single = z.string({ error: (issue) => (Array.isArray(issue.input) ? 'must be given once' : 'must be a string') })

/**
 * The name rule: every name, whether a GET filter or a field of a posted event, is 1-253 characters
 * without control characters. One definition for both, so what a filter refuses is never stored.
 */
function nameRule(text: z.ZodString, max = MAX_NAME): z.ZodString {
  return text.min(1, 'must not be empty').max(max, `must be at most ${max} characters`).regex(NAME_PATTERN, 'must not contain control characters')
}
/** Free text that still must not carry control characters (may be empty). */
function plainText(max: number): z.ZodString {
  return z.string().max(max, `must be at most ${max} characters`).regex(NO_CONTROL_PATTERN, 'must not contain control characters')
}

const name = nameRule(single)
const meshName = single.regex(MESH_PATTERN, 'must be 1-63 letters, digits, ".", "_" or "-"')

function commaList<T extends string>(allowed: readonly T[] | null, what: string, item?: z.ZodString) {
  return single.transform((text, ctx) => {
    const parts = text.split(',').map((part) => part.trim()).filter(Boolean)
    if (parts.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must list at least one value' })
      return z.NEVER
    }
    if (item) {
      for (const part of parts) {
        const checked = item.safeParse(part)
        if (!checked.success) {
          ctx.addIssue({ code: 'custom', message: `${what} "${part.slice(0, 64)}" ${checked.error.issues[0]!.message}` })
          return z.NEVER
        }
      }
    }
    if (allowed) {
      const unknown = parts.find((part) => !allowed.includes(part as T))
      if (unknown !== undefined) {
        ctx.addIssue({ code: 'custom', message: `unknown ${what} "${unknown}"; expected ${allowed.join(', ')}` })
        return z.NEVER
      }
    }
    return [...new Set(parts)] as T[]
  })
}

const timeBound = single.transform((text, ctx) => {
  const ms = parseTimeBound(text, Date.now())
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or a duration like 15m, 24h, 7d' })
    return z.NEVER
  }
  return ms
})

const limit = single
  .regex(/^\d+$/, 'must be an integer')
  .transform(Number)
  .pipe(z.number().int().min(1, `must be between 1 and ${MAX_PAGE_LIMIT}`).max(MAX_PAGE_LIMIT, `must be between 1 and ${MAX_PAGE_LIMIT}`))

const cursor = single.min(1, 'must not be empty').max(512, 'was not issued by this server')

/**
 * `q` of a timeline: full-text words. Control characters (a NUL ends the full-text query early) are
 * refused, and so is a query with nothing to search for (no letter or digit), rather than failing
 * in the store or silently matching everything.
 */
const searchText = single
  .trim()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .regex(NO_CONTROL_PATTERN, 'must not contain control characters')
  .regex(/[\p{L}\p{N}]/u, 'must contain a letter or a digit to search for')

const eventType = single.refine((value): value is EventType => (EVENT_TYPES as readonly string[]).includes(value), {
  message: `must be one of ${EVENT_TYPES.join(', ')}`,
})

/**
 * Timeline filters of `GET /events` and the per-entity timelines (times as epoch ms). Strict: an
 * unknown parameter (`?app=x`, a typo of `application`) is a 400 naming it, never a wider query.
 */
export const timelineQuerySchema = z.strictObject({
  mesh: meshName.optional(),
  application: name.optional(),
  instance: name.optional(),
  ip: name.optional(),
  service: name.optional(),
  // Comma lists, as `source` and `reason`: Kubernetes namespaces and kinds never hold a comma.
  namespace: commaList<string>(null, 'namespace', nameRule(z.string())).optional(),
  kind: commaList<string>(null, 'kind', nameRule(z.string())).optional(),
  name: name.optional(),
  type: eventType.transform((value) => value as EventType).optional(),
  source: commaList<EventSource>(EVENT_SOURCES, 'source').optional(),
  reason: commaList<string>(null, 'reason').optional(),
  q: searchText.optional(),
  since: timeBound.optional(),
  until: timeBound.optional(),
  limit: limit.default(DEFAULT_PAGE_LIMIT),
  cursor: cursor.optional(),
})
export type TimelineQuery = z.output<typeof timelineQuerySchema>
/** The query as a client sends it (all strings). */
export type TimelineQueryInput = Partial<Record<keyof TimelineQuery, string>>

/**
 * The live stream's parameters: the timeline filters (not `limit` and `cursor`, which page), and
 * `token`, since EventSource cannot send an Authorization header.
 */
export const streamQuerySchema = timelineQuerySchema.omit({ limit: true, cursor: true }).extend({ token: single.optional() })

/** A positive integer query parameter within [1, max]. */
function boundedInt(max: number) {
  const message = `must be an integer between 1 and ${max}`
  return single.regex(/^\d{1,9}$/, message).transform(Number).pipe(z.number().int().min(1, message).max(max, message))
}

/** The timeline filters alone (no paging): what the histogram, the facets and the export narrow by. */
const timelineFilterShape = timelineQuerySchema.omit({ limit: true, cursor: true }).shape

/** `GET P/histogram`: the timeline filters and `buckets` (1..500, default 60). */
export const histogramQuerySchema = z.strictObject({
  ...timelineFilterShape,
  buckets: boundedInt(MAX_HISTOGRAM_BUCKETS).default(DEFAULT_HISTOGRAM_BUCKETS),
})
export type HistogramQuery = z.output<typeof histogramQuerySchema>

/** `GET P/facets`: the timeline filters and the `field` whose values are counted. */
export const facetsQuerySchema = z.strictObject({
  ...timelineFilterShape,
  field: z.enum(FACET_FIELDS, { error: `must be one of ${FACET_FIELDS.join(', ')}` }),
})
export type FacetsQuery = z.output<typeof facetsQuerySchema>

/** `GET P/export`: the timeline filters, `format` (csv, ndjson) and `max` (1..1,000,000, default 100,000). */
export const exportQuerySchema = z.strictObject({
  ...timelineFilterShape,
  format: z.enum(EXPORT_FORMATS, { error: `must be one of ${EXPORT_FORMATS.join(', ')}` }),
  max: boundedInt(MAX_EXPORT_MAX).default(DEFAULT_EXPORT_MAX),
})
export type ExportQuery = z.output<typeof exportQuerySchema>

/** `GET /gaps?mesh&since&until`. */
export const gapsQuerySchema = z.strictObject({
  mesh: meshName.optional(),
  since: timeBound.optional(),
  until: timeBound.optional(),
})
export type GapsQuery = z.output<typeof gapsQuerySchema>

/** `?mesh&q&limit&cursor` of the resource lists (`/applications`, `/services`). */
export const resourceListQuerySchema = z.strictObject({
  mesh: meshName.optional(),
  q: single.trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters').regex(NAME_PATTERN, 'must not contain control characters').optional(),
  limit: limit.default(DEFAULT_PAGE_LIMIT),
  cursor: cursor.optional(),
})
/** `/instances` also narrows by `application`. */
export const instanceListQuerySchema = resourceListQuerySchema.extend({ application: name.optional() })
export type ResourceListQuery = z.output<typeof instanceListQuerySchema>

export const meshQuerySchema = z.strictObject({ mesh: meshName.optional() })

/** Endpoints without query parameters (`/meshes`, `/events/:id`): any parameter is unknown. */
export const noQuerySchema = z.strictObject({})

/**
 * Parameters of the Dubbo admin compatible endpoints, as dubbo-admin's console sends them (ui-vue3,
 * axios): a value it does not have is sent empty (`ip=`), so an empty parameter counts as absent;
 * `pageSize` 0 or absent is the default page of 20; `mesh` is its own mesh name (often `default`),
 * which the handler widens to every mesh when no such mesh exists. Unknown parameters are ignored
 * (the console adds its own), unlike the timeline endpoints.
 */
const blankable = single.max(MAX_NAME, `must be at most ${MAX_NAME} characters`).refine((value) => value === '' || NAME_PATTERN.test(value), 'must not contain control characters')
const dubboAdminPageSize = single
  .regex(/^\d*$/, 'must be a non-negative integer')
  .transform((text) => (text === '' || Number(text) === 0 ? DEFAULT_PAGE_LIMIT : Number(text)))
  .pipe(z.number().int().min(0).max(MAX_PAGE_LIMIT, `must be between 0 and ${MAX_PAGE_LIMIT} (0 means ${DEFAULT_PAGE_LIMIT})`))
  .meta({ description: `page size; 0 or absent means ${DEFAULT_PAGE_LIMIT}` })
const dubboAdminOffset = single
  .regex(/^\d*$/, 'must be a non-negative integer')
  .transform((text) => (text === '' ? 0 : Number(text)))
  .pipe(z.number().int().min(0).max(1_000_000, 'must be at most 1000000'))

export const dubboAdminPageSchema = z.object({
  mesh: blankable.optional().meta({ description: 'mesh name; empty or naming no mesh means every mesh' }),
  pageOffset: dubboAdminOffset.default(0),
  pageSize: dubboAdminPageSize.default(DEFAULT_PAGE_LIMIT),
})
export const dubboAdminApplicationSchema = dubboAdminPageSchema.extend({
  appName: blankable.optional().meta({ description: 'application; empty or absent gives an empty list' }),
})
export const dubboAdminInstanceSchema = dubboAdminPageSchema.extend({
  instanceName: blankable.optional().meta({ description: 'instance name, IP or ip:port; an alternative to ip' }),
  ip: blankable.optional().meta({ description: 'IP or ip:port of the instance; an alternative to instanceName' }),
})
export const dubboAdminServiceSchema = dubboAdminPageSchema.extend({
  serviceName: blankable.optional().meta({ description: 'Dubbo interface; empty or absent gives an empty list' }),
  appName: blankable.optional().meta({ description: 'narrows to the events of this application' }),
})

const isoTime = z.string().refine((text) => parseIsoTime(text) !== undefined, { message: 'must be a real ISO 8601 time with a zone, e.g. 2026-01-31T12:00:00Z' })
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`)

/**
 * One event of `POST /events`. Unknown fields are refused, so a typo never loses data silently;
 * names follow the same rule as the GET filters that look for them (`nameRule`).
 */
export const postEventSchema = z.strictObject({
  id: nameRule(z.string()).optional(),
  time: isoTime.optional(),
  type: z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(', ')}` }),
  reason: nameRule(z.string(), 128),
  message: text(32_768),
  mesh: z.string().regex(MESH_PATTERN, 'must be 1-63 letters, digits, ".", "_" or "-"').optional(),
  application: nameRule(z.string()).optional(),
  instance: nameRule(z.string()).optional(),
  ip: nameRule(z.string(), 64).optional(),
  service: nameRule(z.string()).optional(),
  component: nameRule(z.string()).optional(),
  object: z
    .strictObject({
      kind: nameRule(z.string(), 128),
      name: nameRule(z.string()),
      namespace: plainText(MAX_NAME).optional(),
      uid: plainText(128).optional(),
      fieldPath: plainText(MAX_NAME).optional(),
    })
    .optional(),
})
export type PostEvent = z.output<typeof postEventSchema>

/**
 * A batch of `POST /events` (a body that is an array); a single object is one `postEventSchema`.
 * An `id` given twice is refused (naming the second `[i].id`): which of the two should win is the
 * client's to say, not the store's to guess.
 */
export const postEventListSchema = z
  .array(postEventSchema)
  .min(1, 'must hold at least one event')
  .max(MAX_POST_EVENTS, `must hold at most ${MAX_POST_EVENTS} events`)
  .superRefine((events, ctx) => {
    const first = new Map<string, number>()
    events.forEach((event, index) => {
      if (event.id === undefined) return
      const earlier = first.get(event.id)
      if (earlier === undefined) first.set(event.id, index)
      else ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `repeats the id of [${earlier}] (${JSON.stringify(event.id)}); post each id once per body` })
    })
  })

/** First problem of a failed parse as `{ field, message }`; array indexes print as `[3].type`. */
export function describeIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0]
  if (!issue) return { field: '', message: 'invalid input' }
  // An unknown key is reported on its parent object; name the key itself.
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path
  const message = issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message
  const field = path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`))
    .join('')
  return { field, message }
}
