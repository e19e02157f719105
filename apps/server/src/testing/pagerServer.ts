/**
 * A webhook that records the alert notices Eventline sends it (the `alerts` of each body), for
 * alerting tests with real processes, and the alert configuration those tests share.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { PostEvent } from '@eventline/shared'
import type { AlertNotice } from '../sinks/types.ts'

export interface PagerServer {
  /** Every notice received, in arrival order. */
  readonly notices: AlertNotice[]
  /** The webhook's URL (after `start`). */
  readonly url: string
  start(): Promise<void>
  stop(): Promise<void>
}

export function pagerServer(): PagerServer {
  const notices: AlertNotice[] = []
  const server = createServer((req, res) => {
    let text = ''
    req.on('data', (chunk: Buffer) => (text += chunk.toString()))
    req.on('end', () => {
      notices.push(...((JSON.parse(text) as { alerts?: AlertNotice[] }).alerts ?? []))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  return {
    notices,
    get url() {
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
    },
    start: () => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** `eventline.yaml` paging `${PAGER_URL}` for warnings of reason BackOff, grouped over `windowS` seconds. */
export function crashLoopAlertConfig(windowS: number): string {
  return `
sinks:
  - name: pager
    type: webhook
    url: \${PAGER_URL}
alerts:
  - name: crashloop
    sink: pager
    window: ${windowS}s
    match:
      - type: warning
        reason: ^BackOff$
`
}

/** A posted BackOff warning of pod `pod` in mesh and namespace `shop`: what `crashLoopAlertConfig` pages. */
export function backOffEvent(id: string, pod: string): PostEvent {
  return {
    id,
    time: new Date().toISOString(),
    type: 'warning',
    reason: 'BackOff',
    message: `Back-off restarting failed container (${id})`,
    mesh: 'shop',
    object: { kind: 'Pod', name: pod, namespace: 'shop' },
  }
}
