import { describe, expect, it } from 'vitest'
import type { ActivityPeriod } from '../store/types.ts'
import { SqliteStore } from '../store/sqlite/sqliteStore.ts'
import { silentLogger } from '../log.ts'
import { deriveGaps, IngestActivity } from './ingestActivity.ts'

const T = Date.parse('2026-11-20T08:00:00Z')
const MIN = 60_000
const period = (source: string, started: number, lastSeen: number, endReason: string | null, resumedBy: string | null = null, mesh = 'm'): ActivityPeriod => ({
  mesh,
  source,
  started,
  lastSeen,
  endReason,
  resumedBy,
})
const context = (notIngesting: string[] = [], now = T + 600 * MIN) => ({ now, thresholdMs: MIN, notIngesting: new Set(notIngesting) })

describe('deriveGaps', () => {
  it.each([
    ['a pause of 60 s or less is no gap', 'kubernetes', [period('kubernetes', T, T + MIN, 'stopped'), period('kubernetes', T + 2 * MIN, T + 3 * MIN, null)], []],
    [
      'a restart after 10 minutes: not running, Kubernetes events still within their TTL',
      'kubernetes',
      [period('kubernetes', T, T + MIN, 'stopped'), period('kubernetes', T + 11 * MIN, T + 12 * MIN, null)],
      [{ from: T + MIN, to: T + 11 * MIN, reason: 'not-running', lossPossible: false }],
    ],
    [
      'a crash and 2 hours down: past the events TTL',
      'kubernetes',
      [period('kubernetes', T, T + MIN, 'crashed'), period('kubernetes', T + 121 * MIN, T + 122 * MIN, null)],
      [{ from: T + MIN, to: T + 121 * MIN, reason: 'not-running', lossPossible: true }],
    ],
    [
      'a short disconnection resumed by a relist after 410',
      'kubernetes',
      [period('kubernetes', T, T + MIN, 'connecting'), period('kubernetes', T + 5 * MIN, T + 6 * MIN, null, 'relist-410')],
      [{ from: T + MIN, to: T + 5 * MIN, reason: 'disconnected', lossPossible: true }],
    ],
    [
      'any registry gap may have lost intermediate states',
      'zookeeper',
      [period('zookeeper', T, T + MIN, 'error'), period('zookeeper', T + 3 * MIN, T + 4 * MIN, null)],
      [{ from: T + MIN, to: T + 3 * MIN, reason: 'failing', lossPossible: true }],
    ],
  ])('%s', (_name, _source, periods, expected) => {
    const gaps = deriveGaps(periods, context())
    expect(gaps.map(({ from, to, reason, lossPossible }) => ({ from: Date.parse(from), to: Date.parse(to), reason, lossPossible }))).toEqual(expected)
  })

  it('a source this process runs and that is not ingesting has an ongoing gap up to now; one it does not run has none', () => {
    const periods = [period('nacos', T, T + MIN, 'error'), period('demo', T, T + MIN, 'stopped', null, 'd')]
    const gaps = deriveGaps(periods, context(['m\u0000nacos']))
    expect(gaps).toEqual([{ mesh: 'm', source: 'nacos', from: new Date(T + MIN).toISOString(), to: new Date(T + 600 * MIN).toISOString(), reason: 'failing', lossPossible: true, ongoing: true }])
  })
})

describe('IngestActivity', () => {
  it('records periods durably: a crash ends the open period at its last heartbeat', async () => {
    const store = new SqliteStore(':memory:')
    let now = T
    const first = new IngestActivity(store, silentLogger, { now: () => now, heartbeatMs: 3_600_000 })
    await first.start()
    first.status('m', 'kubernetes', 'connecting')
    now += 1000
    first.status('m', 'kubernetes', 'connected')
    now += 30_000
    await first.flush()
    await store.recordActivity({ op: 'beat', at: now }) // what the heartbeat timer writes
    // The process dies here (no stop); a new run starts 10 minutes later.
    now += 10 * MIN
    const second = new IngestActivity(store, silentLogger, { now: () => now, heartbeatMs: 3_600_000 })
    await second.start()
    second.status('m', 'kubernetes', 'connected')
    second.resumedLossy('m', 'kubernetes', 'relist-410')
    const gaps = await second.gaps({ since: 0, until: now + 1 })
    expect(gaps).toEqual([{ mesh: 'm', source: 'kubernetes', from: new Date(T + 31_000).toISOString(), to: new Date(now).toISOString(), reason: 'not-running', lossPossible: true }])
    await second.stop()
    expect((await store.activityPeriods({ since: 0, until: now + 1 })).map((p) => p.endReason)).toEqual(['crashed', 'stopped'])
    await store.close()
  })
})
