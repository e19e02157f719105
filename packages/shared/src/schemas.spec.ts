import { describe, expect, it } from 'vitest'
import { describeIssue, postEventListSchema, timelineQuerySchema } from './schemas.ts'
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
  ])('refuses %j on field %s', (input, field) => {
    const result = timelineQuerySchema.safeParse(input)
    expect(result.success).toBe(false)
    expect(describeIssue(result.error!).field).toBe(field)
  })
})

describe('postEventListSchema', () => {
  it('names the index and field of the first bad item', () => {
    const result = postEventListSchema.safeParse([
      { type: 'normal', reason: 'R', message: 'm' },
      { type: 'normal', reason: 'R', message: 'm', object: { kind: 'Pod', name: '' } },
    ])
    expect(describeIssue(result.error!)).toMatchObject({ field: '[1].object.name' })
  })
})
