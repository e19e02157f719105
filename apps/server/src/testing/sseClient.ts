/** A Server-Sent Events client over node:http for tests: parses frames as they arrive. */
import { request } from 'node:http'
import type { IncomingMessage } from 'node:http'

export interface SseFrame {
  event?: string
  id?: string
  data?: string
  retry?: number
  /** Comment lines (`: heartbeat`). */
  comments: string[]
}

export interface SseClient {
  status: number
  headers: IncomingMessage['headers']
  frames: SseFrame[]
  /** Data frames' parsed JSON, in arrival order. */
  events(): Array<{ id: string; item: { id: string; reason: string; message: string; type: string; mesh: string } }>
  /** Resolves once `predicate` holds over the frames so far; rejects after `timeoutMs`. */
  until(predicate: (client: SseClient) => boolean, timeoutMs?: number): Promise<void>
  /** Resolves when the server ends the response. */
  ended: Promise<void>
  /** The raw body received so far (when the status was not 200, the error JSON). */
  body(): string
  /** Stops reading from the socket (a slow consumer). */
  pause(): void
  resume(): void
  close(): void
}

function parseFrame(block: string): SseFrame {
  const frame: SseFrame = { comments: [] }
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      frame.comments.push(line.slice(1).trim())
      continue
    }
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event' || field === 'id') frame[field] = value
    else if (field === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`
    else if (field === 'retry') frame.retry = Number(value)
  }
  return frame
}

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = ''
      let raw = ''
      const waiters = new Set<() => void>()
      let endedResolve: () => void = () => {}
      const client: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        frames: [],
        events: () => client.frames.filter((frame) => frame.data !== undefined).map((frame) => ({ id: frame.id ?? '', item: JSON.parse(frame.data!) })),
        until: (predicate, timeoutMs = 5000) =>
          new Promise<void>((done, fail) => {
            if (predicate(client)) return done()
            const check = () => {
              if (!predicate(client)) return
              clearTimeout(timer)
              waiters.delete(check)
              done()
            }
            const timer = setTimeout(() => {
              waiters.delete(check)
              fail(new Error(`SSE condition not met within ${timeoutMs} ms (${client.frames.length} frames, last id ${client.frames.findLast((frame) => frame.id)?.id ?? 'none'})`))
            }, timeoutMs)
            waiters.add(check)
          }),
        ended: new Promise<void>((done) => {
          endedResolve = done
        }),
        body: () => raw,
        pause: () => res.pause(),
        resume: () => res.resume(),
        close: () => req.destroy(),
      }
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        raw += chunk
        buffer += chunk
        let end: number
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          client.frames.push(parseFrame(buffer.slice(0, end)))
          buffer = buffer.slice(end + 2)
        }
        for (const waiter of [...waiters]) waiter()
      })
      res.on('end', () => endedResolve())
      res.on('close', () => endedResolve())
      resolve(client)
    })
    req.on('error', reject)
    req.end()
  })
}
