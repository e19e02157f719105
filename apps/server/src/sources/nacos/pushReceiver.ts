/**
 * Receiver of Nacos's UDP push (the v1 open API's, served by Nacos 1.x and 2.x): a Nacos client
 * that lists a service's instances with `udpPort` and `clientIP` is sent a datagram whenever the
 * service changes, `{ type: "dom" | "service", lastRefTime, data }` (`data`: the new instance list
 * as a JSON string; gzip-compressed from 1 KiB on), and answers `{ type: "push-ack", lastRefTime,
 * data: "" }` (a `dump` is answered `dump-ack`, anything else `unknown-ack`, as the official
 * clients do). Without the ack Nacos sends it again, then gives up.
 *
 * A push is taken as a hint, not as data: it names the service that changed (`data.name`,
 * `GROUP@@svc`), and the source polls that service at once, so its answer goes through the same
 * checks as any poll (health protection, disabled instances, malformed hosts).
 *
 * Known limits (candidly): UDP may lose a datagram (then the next poll finds the change); Nacos must
 * reach the bound address (`pushHost`), so a NAT or firewall between them silently turns push off;
 * anyone who can send to the port can make the source poll a service it already follows (a poll,
 * never an event by itself). Nacos 3.2 removed UDP push.
 */
import { createSocket } from 'node:dgram'
import type { Socket } from 'node:dgram'
import { gunzipSync } from 'node:zlib'
import type { RegistryConfig } from '../../config.ts'
import { isRecord } from '../../isRecord.ts'

/**
 * The User-Agent of push-subscribing requests: Nacos (`ClientInfo`, `canEnablePush`) pushes only to
 * client types it knows, Java ones from 0.1.0 on.
 */
export const PUSH_USER_AGENT = 'Nacos-Java-Client:v1.4.1'

/** Whether `host` (of `host:port`) is this machine: then push needs no address settings. */
const isLoopback = (hostPort: string): boolean => /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i.test(hostPort)

/** Where push datagrams are to arrive, from the URL (`push`, `pushHost`, `pushPort`), or undefined when push is off. */
export function pushSettings(registry: RegistryConfig): { host: string; port: number } | undefined | string {
  const { push, pushHost, pushPort } = registry.params
  if (push !== undefined && push !== 'udp' && push !== 'off') return `push must be "udp" or "off", got "${push}"`
  const port = pushPort === undefined || pushPort === '' ? 0 : Number(pushPort)
  if (!Number.isInteger(port) || port < 0 || port > 65535) return `pushPort must be a port number (0-65535), got "${pushPort}"`
  if (push === 'off') return undefined
  const local = registry.hosts.every(isLoopback)
  // 127.0.0.1 sent to a Nacos elsewhere would have it push to its own machine.
  if (push === 'udp' && !pushHost && !local) return 'push=udp needs pushHost, the address of this machine that Nacos can send UDP datagrams to'
  if (pushHost || local) return { host: pushHost || '127.0.0.1', port }
  return undefined
}

/** What one datagram asks of us: the service it names (if any) and the answer to send back. */
export interface PushPacket {
  /** `GROUP@@svc` of a `dom`/`service` push. */
  service?: string
  ack: string
}

/** Reads a push datagram; undefined when it is not one (ignored, never answered). Pure. */
export function readPushPacket(message: Buffer): PushPacket | undefined {
  let text: string
  try {
    // gzip magic: Nacos compresses pushes of 1 KiB and more.
    text = (message[0] === 0x1f && message[1] === 0x8b ? gunzipSync(message) : message).toString('utf8')
  } catch {
    return undefined
  }
  let packet: unknown
  try {
    packet = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isRecord(packet) || typeof packet.type !== 'string') return undefined
  const lastRefTime = packet.lastRefTime
  if (packet.type === 'dom' || packet.type === 'service') {
    let service: string | undefined
    try {
      const data: unknown = typeof packet.data === 'string' ? JSON.parse(packet.data) : packet.data
      if (isRecord(data) && typeof data.name === 'string' && data.name !== '') service = data.name
    } catch {
      // Acknowledged all the same: Nacos must not send it again; the poll stays the safety net.
    }
    return { ...(service ? { service } : {}), ack: JSON.stringify({ type: 'push-ack', lastRefTime, data: '' }) }
  }
  if (packet.type === 'dump') return { ack: JSON.stringify({ type: 'dump-ack', lastRefTime, data: '{}' }) }
  return { ack: JSON.stringify({ type: 'unknown-ack', lastRefTime, data: '' }) }
}

export class NacosPushReceiver {
  private socket: Socket | undefined

  /** `onPush` gets the `GROUP@@svc` of every service Nacos says changed. */
  constructor(private readonly onPush: (service: string) => void) {}

  /** Binds `host:port` (port 0: any free one); resolves with the port Nacos is to send to. */
  async start(host: string, port: number): Promise<number> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    socket.on('message', (message, from) => {
      const packet = readPushPacket(message)
      if (!packet) return
      socket.send(packet.ack, from.port, from.address)
      if (packet.service) this.onPush(packet.service)
    })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(port, host, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    // A send error (the ack's target unreachable) must not take the process down.
    socket.on('error', () => {})
    this.socket = socket
    return socket.address().port
  }

  async stop(): Promise<void> {
    const socket = this.socket
    this.socket = undefined
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()))
  }
}
