import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  path: string
  query: URLSearchParams
}

export type Route = (query: URLSearchParams) => { status?: number; body: unknown; delayMs?: number }

/**
 * A real HTTP server answering the console's API calls from routes a test defines, and pointing
 * the DOM's location at it, so the app's own `fetch` and URL building run unchanged.
 */
export async function startApiServer(routes: Record<string, Route>) {
  const requests: RecordedRequest[] = []
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    requests.push({ path: url.pathname, query: url.searchParams })
    const route = routes[url.pathname]
    const answer = route ? route(url.searchParams) : { status: 404, body: { error: { code: 'not_found', message: `${url.pathname} not found` } } }
    setTimeout(() => {
      response.writeHead(answer.status ?? 200, { 'content-type': 'application/json' })
      response.end(JSON.stringify(answer.body))
    }, answer.delayMs ?? 0)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  ;(globalThis as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(`${origin}/`)
  return {
    origin,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
