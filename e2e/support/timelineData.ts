/**
 * The data set of the timeline tests, posted through the public API into its own mesh: pods of
 * two namespaces, a burst of 30 provider unregistrations in 40 s, and events on two days.
 */
import type { PostEvent } from '@eventline/shared'

export const TL_MESH = 'timeline-e2e'
export const TL_APP = 'checkout'
export const BURST_SIZE = 30
export const LINKED_ID = 'tl-linked'

export function timelineEvents(now: number): PostEvent[] {
  const events: PostEvent[] = []
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString()
  for (let index = 0; index < 40; index++) {
    const warning = index % 4 === 0
    events.push({
      id: `tl-${index}`,
      time: at(10 + index * 45),
      type: warning ? 'warning' : 'normal',
      reason: warning ? 'BackOff' : index % 2 === 0 ? 'Pulled' : 'Started',
      message: warning ? `Back-off restarting failed container in pod checkout-${index}` : `Container checkout-${index} ready`,
      mesh: TL_MESH,
      application: TL_APP,
      component: 'kubelet',
      object: { kind: index % 3 === 0 ? 'Deployment' : 'Pod', name: `checkout-${index}`, namespace: index % 2 === 0 ? 'shop' : 'payments' },
    })
  }
  // A rollout: 30 providers unregistered within 40 s, 5 minutes ago.
  for (let index = 0; index < BURST_SIZE; index++) {
    events.push({
      id: `tl-burst-${index}`,
      time: new Date(now - 5 * 60_000 - Math.round((index * 40_000) / BURST_SIZE)).toISOString(),
      type: 'warning',
      reason: 'ProviderUnregistered',
      message: `Provider unregistered: ${TL_APP} 10.9.0.${index}:20880 -> org.example.CheckoutService`,
      mesh: TL_MESH,
      application: TL_APP,
      instance: `10.9.0.${index}:20880`,
      service: 'org.example.CheckoutService',
    })
  }
  events.push({
    id: LINKED_ID,
    time: at(20 * 60),
    type: 'warning',
    reason: 'Unhealthy',
    message: 'Readiness probe failed: the linked event',
    mesh: TL_MESH,
    application: TL_APP,
    object: { kind: 'Pod', name: 'checkout-linked', namespace: 'shop' },
  })
  return events
}
