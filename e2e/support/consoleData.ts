/**
 * A deterministic console data set, posted through the public API: two meshes, three
 * applications, a few hundred events over two days with warnings, instances and services.
 */
import type { PostEvent } from '@eventline/shared'

export const MESHES = ['console-prod', 'console-staging'] as const
export const APPS = ['order-service', 'payment-service', 'shop-frontend'] as const
export const XSS_MESSAGE = '<img src=x onerror=alert(1)>'
export const XSS_ID = 'console-prod-xss'

const NORMAL = [
  ['Started', 'Started container {app}'],
  ['Pulled', 'Successfully pulled image "registry.example.com/{app}:1.4.2"'],
  ['ProviderRegistered', 'Provider registered: {app} {ip}:20880 -> org.apache.dubbo.demo.{service}'],
  ['Scheduled', 'Successfully assigned shop/{app}-7d9f to node-{n}'],
] as const
const WARNING = [
  ['BackOff', 'Back-off restarting failed container {app} in pod {app}-7d9f'],
  ['Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503'],
] as const

const SERVICES: Record<(typeof APPS)[number], string> = {
  'order-service': 'OrderService',
  'payment-service': 'PaymentService',
  'shop-frontend': 'FrontendService',
}

/** How many events each (mesh, application) gets. */
export const COUNTS: Record<(typeof MESHES)[number], Record<(typeof APPS)[number], number>> = {
  'console-prod': { 'order-service': 180, 'payment-service': 70, 'shop-frontend': 40 },
  'console-staging': { 'order-service': 30, 'payment-service': 20, 'shop-frontend': 10 },
}

/** The events, spread over the 48 hours before `now`, every fifth a warning. */
export function consoleEvents(now: number): PostEvent[] {
  const events: PostEvent[] = []
  for (const mesh of MESHES) {
    for (const [appIndex, app] of APPS.entries()) {
      const count = COUNTS[mesh][app]
      for (let index = 0; index < count; index++) {
        const warning = index % 5 === 0
        const [reason, template] = warning ? WARNING[index % WARNING.length]! : NORMAL[index % NORMAL.length]!
        const ip = `10.${appIndex + 1}.0.${(index % 4) + 5}`
        const service = `org.apache.dubbo.demo.${SERVICES[app]}`
        events.push({
          id: `${mesh}-${app}-${index}`,
          // Distinct times, newest last-indexed first: index 0 is the newest.
          time: new Date(now - (index * 47 + appIndex * 7 + 1) * 13_000).toISOString(),
          type: warning ? 'warning' : 'normal',
          reason,
          message: template.replaceAll('{app}', app).replaceAll('{ip}', ip).replaceAll('{service}', SERVICES[app]).replaceAll('{n}', String(index % 3)),
          mesh,
          application: app,
          instance: `${ip}:20880`,
          ip,
          service,
          component: warning ? 'kubelet' : 'api',
        })
      }
    }
  }
  events.push({
    id: XSS_ID,
    time: new Date(now - 5000).toISOString(),
    type: 'normal',
    reason: 'MarkupInMessage',
    message: XSS_MESSAGE,
    mesh: 'console-prod',
    application: 'order-service',
  })
  return events
}
