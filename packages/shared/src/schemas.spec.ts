import { describe, expect, it } from 'vitest'
import { describeIssue, postEventListSchema, postEventSchema, streamQuerySchema, timelineQuerySchema } from './schemas.ts'
import { parseDuration, parseIsoTime, parseTimeBound } from './time.ts'

describe('durations and times', () => {
  it.each([
    ['30m', 1_800_000],
    ['12h', 43_200_000],
    ['14d', 1_209_600_000],
    ['15s', 15_000],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms))

  it.each(['', '0m', '5', 'm', '1.5h', '-1d', '3 days', '10y'])('refuses duration %j', (text) => expect(parseDuration(text)).toBeUndefined())

  it('reads ISO 8601 with a zone and refuses the rest', () => {
    expect(parseIsoTime('2026-11-23T10:00:00Z')).toBe(Date.UTC(2026, 10, 23, 10))
    expect(parseIsoTime('2026-11-23T10:00:00.123+02:00')).toBe(Date.UTC(2026, 10, 23, 8, 0, 0, 123))
    expect(parseIsoTime('2026-11-23')).toBe(Date.UTC(2026, 10, 23))
    for (const bad of ['2026-11-23T10:00:00', 'yesterday', '2026-13-01T00:00:00Z', '1763900000']) expect(parseIsoTime(bad), bad).toBeUndefined()
  })

  it.each(['2026-02-30', '2026-02-29T00:00:00Z', '2025-04-31T10:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T23:60:00Z', '2026-01-01T23:59:60Z', '2026-00-10', '2026-01-01T10:00:00+24:00'])(
    'refuses the impossible date %s rather than rolling it over',
    (text) => expect(parseIsoTime(text)).toBeUndefined(),
  )

  it('takes the real edges of the calendar', () => {
    expect(parseIsoTime('2028-02-29T23:59:59Z')).toBe(Date.UTC(2028, 1, 29, 23, 59, 59))
    expect(parseIsoTime('2026-12-31')).toBe(Date.UTC(2026, 11, 31))
  })

  it('reads relative bounds against now', () => {
    expect(parseTimeBound('15m', 1_000_000_000)).toBe(1_000_000_000 - 900_000)
  })
})

describe('timelineQuerySchema', () => {
  it('applies the default limit and splits comma lists', () => {
    const query = timelineQuerySchema.parse({ source: 'kubernetes, zookeeper,kubernetes', reason: 'BackOff,Killing' })
    expect(query).toMatchObject({ limit: 20, source: ['kubernetes', 'zookeeper'], reason: ['BackOff', 'Killing'] })
  })

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '201' }, 'limit'],
    [{ limit: '2.5' }, 'limit'],
    [{ type: 'info' }, 'type'],
    [{ source: 'kafka' }, 'source'],
    [{ source: ',' }, 'source'],
    [{ since: 'soon' }, 'since'],
    [{ q: '   ' }, 'q'],
    [{ application: ['a', 'b'] }, 'application'],
    [{ since: '2026-02-30' }, 'since'],
    [{ q: 'a\u0000b' }, 'q'],
    [{ q: '"*' }, 'q'],
    [{ application: 'a\nb' }, 'application'],
    [{ app: 'x' }, 'app'],
  ])('refuses %j on field %s', (input, field) => {
    const result = timelineQuerySchema.safeParse(input)
    expect(result.success).toBe(false)
    expect(describeIssue(result.error!).field).toBe(field)
  })
})

describe('streamQuerySchema', () => {
  it('takes the filters and the token, not paging', () => {
    expect(streamQuerySchema.parse({ mesh: 'a', token: 't' })).toEqual({ mesh: 'a', token: 't' })
    for (const key of ['limit', 'cursor', 'app']) expect(describeIssue(streamQuerySchema.safeParse({ [key]: '1' }).error!).field).toBe(key)
  })
})

describe('postEventSchema', () => {
  it.each([
    [{ time: '2026-02-30T00:00:00Z' }, 'time'],
    [{ application: 'shop\u0007' }, 'application'],
    [{ instance: 'pod\n1' }, 'instance'],
    [{ service: '' }, 'service'],
    [{ reason: 'Back\u0000Off' }, 'reason'],
    [{ object: { kind: 'Pod', name: 'a\rb' } }, 'object.name'],
    [{ object: { kind: 'Pod', name: 'p', namespace: 'n\u001b' } }, 'object.namespace'],
  ])('refuses %j naming %s, as the GET filters would', (fields, field) => {
    const result = postEventSchema.safeParse({ type: 'normal', reason: 'R', message: 'm', ...fields })
    expect(result.success).toBe(false)
    expect(describeIssue(result.error!).field).toBe(field)
  })

  it('keeps line breaks in the message', () => {
    expect(postEventSchema.safeParse({ type: 'normal', reason: 'R', message: 'line 1\nline 2' }).success).toBe(true)
  })
})

describe('postEventListSchema', () => {
  it('refuses an id given twice, naming the second', () => {
    const result = postEventListSchema.safeParse([
      { id: 'a', type: 'normal', reason: 'R', message: 'm' },
      { type: 'normal', reason: 'R', message: 'm' },
      { id: 'a', type: 'normal', reason: 'R', message: 'm' },
    ])
    expect(describeIssue(result.error!)).toMatchObject({ field: '[2].id', message: expect.stringContaining('[0]') })
  })

  it('names the index and field of the first bad item', () => {
    const result = postEventListSchema.safeParse([
      { type: 'normal', reason: 'R', message: 'm' },
      { type: 'normal', reason: 'R', message: 'm', object: { kind: 'Pod', name: '' } },
    ])
    expect(describeIssue(result.error!)).toMatchObject({ field: '[1].object.name' })
  })
})
