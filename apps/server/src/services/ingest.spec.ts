import type { PostEvent } from '@eventline/shared'
import { describe, expect, it } from 'vitest'
import { normalizePostedEvent } from './ingest.ts'

const NOW = Date.parse('2026-11-23T12:00:00Z')

describe('normalizePostedEvent', () => {
  it.each([
    [
      'a minimal event: mesh api, time now, a fresh id, the reason as object',
      { type: 'normal' as const, reason: 'Deployed', message: 'v2 rolled out' },
      { time: NOW, mesh: 'api', source: 'api', component: 'api', object: { kind: 'Event', name: 'Deployed' } },
    ],
    [
      'an instance event: the instance is the object',
      { id: 'x-1', type: 'warning' as const, reason: 'Down', message: 'm', mesh: 'zk-prod', instance: '10.0.0.1:20880', ip: '10.0.0.1', application: 'orders' },
      { id: 'x-1', mesh: 'zk-prod', object: { kind: 'Instance', name: '10.0.0.1:20880' }, instance: '10.0.0.1:20880', ip: '10.0.0.1', application: 'orders' },
    ],
    [
      'an explicit object and time',
      { type: 'normal' as const, reason: 'R', message: 'm', time: '2026-11-20T01:02:03+01:00', object: { kind: 'Pod', name: 'p', namespace: 'ns' }, component: 'ci' },
      { time: Date.parse('2026-11-20T00:02:03Z'), object: { kind: 'Pod', name: 'p', namespace: 'ns' }, component: 'ci' },
    ],
  ] satisfies Array<[string, PostEvent, object]>)('%s', (_name, posted: PostEvent, expected) => {
    const event = normalizePostedEvent(posted, NOW)
    expect(event).toMatchObject({ type: posted.type, reason: posted.reason, message: posted.message, ...expected })
    if (!posted.id) expect(event.id).toMatch(/^api:[0-9a-f-]{36}$/)
  })
})
