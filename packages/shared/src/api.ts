/** Query, page and error shapes of the HTTP API (CONTRACT section 3). */
import type { EventItem } from './events.ts'

export const API_PREFIX = '/api/v1'

/** `total` is exact up to this bound; above it the count stops and `totalCapped` is true. */
export const TOTAL_COUNT_CAP = 10_000
export const DEFAULT_PAGE_LIMIT = 20
export const MAX_PAGE_LIMIT = 200
export const MAX_POST_EVENTS = 1000

export interface EventPage {
  items: EventItem[]
  nextCursor: string | null
  total: number
  totalCapped: boolean
}

export interface Page<T> {
  items: T[]
  nextCursor: string | null
  total: number
}

export interface ListResponse<T> {
  items: T[]
}

export const ERROR_CODES = {
  invalid_argument: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  internal: 500,
  unavailable: 503,
} as const
export type ErrorCode = keyof typeof ERROR_CODES

export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string }
}

export interface PostEventsResponse {
  accepted: number
}

/** Envelope of apache/dubbo-admin's console API, served by the compatible endpoints. */
export interface DubboAdminResponse<T> {
  code: 'Success' | 'InvalidArgument' | 'InternalError'
  message: string
  data: T | null
}

export interface DubboAdminEventList {
  list: Array<{ time: string; type: string; message: string; source: string }>
  total: number
}
