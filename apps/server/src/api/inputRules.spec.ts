import { mkdirSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import type { ErrorBody, EventItem, EventPage } from '@eventline/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openSse } from '../testing/sseClient.ts'
import { startTestServer, tempDir, TEST_TOKEN } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'
import type { IngestEvent } from '../store/types.ts'

const AUTH = { authorization: `Bearer ${TEST_TOKEN}` }

/** A Kubernetes event as the source publishes it (straight onto the bus, as the source would). */
const kubernetesEvent = (id: string): IngestEvent => ({
  id,
  time: Date.now() - 60_000,
  type: 'warning',
  reason: 'BackOff',
  message: 'Back-off restarting failed container',
  source: 'kubernetes',
  component: 'kubelet',
  mesh: 'prod-cluster',
  object: { kind: 'Pod', name: 'web-1', namespace: 'shop' },
})

const posted = (id: string | undefined, extra: Record<string, unknown> = {}) => ({ ...(id ? { id } : {}), type: 'normal', reason: 'Deployed', message: `event ${id}`, ...extra })

describe('input rules of the API (CONTRACT section 3)', () => {
  const tmp = tempDir()
  let server: TestServer

  beforeAll(async () => {
    // A built console to serve: index.html and one hashed asset.
    mkdirSync(`${tmp.dir}/web/assets`, { recursive: true })
    writeFileSync(`${tmp.dir}/web/index.html`, '<!doctype html><title>Eventline</title>')
    writeFileSync(`${tmp.dir}/web/assets/app-1234.js`, 'console.log(1)')
    server = await startTestServer({ db: `${tmp.dir}/eventline.db`, webDir: `${tmp.dir}/web` })
  })
  afterAll(async () => {
    await server.stop()
    tmp.cleanup()
  })

  describe('unknown query parameters', () => {
    it.each([
      ['/api/v1/events?app=x', 'app'],
      ['/api/v1/events?application=a&Application=b', 'Application'],
      ['/api/v1/applications/shop/events?buckets=3', 'buckets'],
      ['/api/v1/instances/10.0.0.1/events?token=abc', 'token'],
      ['/api/v1/services/org.example.Api/events?page=2', 'page'],
      ['/api/v1/applications?application=x', 'application'],
      ['/api/v1/services?sort=name', 'sort'],
      ['/api/v1/instances?app=x', 'app'],
      ['/api/v1/meshes?mesh=a', 'mesh'],
      ['/api/v1/applications/shop?meshes=a', 'meshes'],
      ['/api/v1/events/some-id?x=1', 'x'],
    ])('answer 400 naming the parameter: %s', async (path, field) => {
      const { status, body } = await server.get<ErrorBody>(path)
      expect(status).toBe(400)
      expect(body.error).toMatchObject({ code: 'invalid_argument', field })
      expect(body.error.message).toContain(field)
    })

    it('are refused on POST /events too, before anything is stored', async () => {
      const { status, body } = await server.post<ErrorBody>('/api/v1/events?dryRun=1', posted('query-post'))
      expect(status).toBe(400)
      expect(body.error.field).toBe('dryRun')
      expect((await server.get('/api/v1/events/query-post')).status).toBe(404)
    })

    it('are refused on the live stream too, where only the token is an extra', async () => {
      const bad = await openSse(`${server.url}/api/v1/events/stream?limit=5`, AUTH)
      await bad.ended
      expect(bad.status).toBe(400)
      expect(JSON.parse(bad.body())).toMatchObject({ error: { code: 'invalid_argument', field: 'limit' } })
      const good = await openSse(`${server.url}/api/v1/events/stream?mesh=a&token=${TEST_TOKEN}`)
      expect(good.status).toBe(200)
      good.close()
    })

    it('are ignored by the Dubbo admin compatible endpoints, whose console sends its own', async () => {
      const { status, body } = await server.get<{ code: string }>('/api/v1/application/event?appName=shop&pageOffset=0&pageSize=10&extra=1')
      expect(status).toBe(200)
      expect(body.code).toBe('Success')
    })
  })

  describe('dates, names and q', () => {
    it.each(['since=2026-02-30', 'until=2026-04-31T00:00:00Z', 'since=2026-01-01T24:00:00Z'])('answers 400 for the impossible date in %s', async (query) => {
      const { status, body } = await server.get<ErrorBody>(`/api/v1/events?${query}`)
      expect(status).toBe(400)
      expect(body.error.field).toBe(query.split('=')[0])
    })

    it('refuses an impossible date in a posted event, naming index and field, and stores nothing', async () => {
      const { status, body } = await server.post<ErrorBody>('/api/v1/events', [posted('date-ok'), posted('date-bad', { time: '2026-02-30T10:00:00Z' })])
      expect(status).toBe(400)
      expect(body.error).toMatchObject({ code: 'invalid_argument', field: '[1].time' })
      expect((await server.get('/api/v1/events/date-ok')).status).toBe(404)
    })

    it.each([
      [{ application: 'shop\u0007' }, 'application'],
      [{ instance: 'web-1\n' }, 'instance'],
      [{ service: 'org.example\u0000Api' }, 'service'],
      [{ object: { kind: 'Pod', name: 'web\r1' } }, 'object.name'],
    ])('refuses control characters in posted names as the GET filters do: %j', async (fields, field) => {
      const { status, body } = await server.post<ErrorBody>('/api/v1/events', posted('ctl', fields))
      expect(status).toBe(400)
      expect(body.error.field).toBe(field)
      const filter = await server.get<ErrorBody>(`/api/v1/events?${field.replace('object.', '')}=${encodeURIComponent('a\u0007b')}`)
      expect(filter.status).toBe(400)
    })

    it.each(['a%00b', '%22*', '%00', '()'])('answers 400 naming q for q=%s, never a 500', async (q) => {
      const { status, body } = await server.get<ErrorBody>(`/api/v1/events?q=${q}`)
      expect(status).toBe(400)
      expect(body.error).toMatchObject({ code: 'invalid_argument', field: 'q' })
    })

    it.each(['foo"bar', 'NEAR(a b)', 'a OR b', 'back-off:"col', 'col:value', 'éx}', '"foo" OR -bar*'])('searches odd text without a store error: q=%s', async (q) => {
      await server.post('/api/v1/events', posted(undefined, { reason: 'Odd', message: 'foo"bar NEAR a OR b back-off col:value éx' }))
      const { status, body } = await server.get<EventPage>(`/api/v1/events?q=${encodeURIComponent(q)}`)
      expect(status).toBe(200)
      expect(body.items.length).toBeGreaterThan(0)
    })
  })

  describe('request bodies over the limit', () => {
    it('refuses a body from its Content-Length before reading it: 413, while the client has sent only its start', async () => {
      const answer = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
        const req = request(`${server.url}/api/v1/events`, {
          method: 'POST',
          headers: { ...AUTH, 'content-type': 'application/json', 'content-length': String(200 * 1024 * 1024) },
        })
        let sent = 0
        req.on('response', (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (body += chunk))
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body, sent })
            req.destroy()
          })
        })
        req.on('error', reject)
        const start = Buffer.alloc(64 * 1024, 0x20)
        req.write(start)
        sent += start.length
      })
      expect(answer.status).toBe(413)
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'payload_too_large', field: 'body' } })
      expect(answer.sent).toBe(64 * 1024)
    })

    it('stops reading a chunked body at the limit: 413, long before the client is done', async () => {
      const chunk = Buffer.alloc(256 * 1024, 0x20)
      const total = 200 * 1024 * 1024
      const answer = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
        const req = request(`${server.url}/api/v1/events`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } })
        let sent = 0
        let answered = false
        req.on('response', (res) => {
          answered = true
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (text: string) => (body += text))
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body, sent })
            req.destroy()
          })
        })
        req.on('error', (error) => (answered ? undefined : reject(error)))
        const pump = () => {
          while (!answered && sent < total) {
            sent += chunk.length
            if (!req.write(chunk)) return void req.once('drain', pump)
          }
          if (!answered) req.end()
        }
        pump()
      })
      expect(answer.status).toBe(413)
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'payload_too_large' } })
      // The limit (5 MiB) plus what the kernel buffers on both sides of a loopback socket.
      expect(answer.sent).toBeLessThan(64 * 1024 * 1024)
    })

    it('still takes a body under the limit, and refuses malformed JSON with a 400', async () => {
      const big = Array.from({ length: 100 }, (_, index) => posted(`big-${index}`, { message: 'x'.repeat(30_000) }))
      expect((await server.post('/api/v1/events', big)).status).toBe(202)
      const response = await fetch(`${server.url}/api/v1/events`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: '[{"type":' })
      expect(response.status).toBe(400)
      expect(((await response.json()) as ErrorBody).error.field).toBe('body')
    })
  })

  describe('assets', () => {
    it('serves an asset, 404s a missing one, and falls back to the SPA elsewhere', async () => {
      expect((await fetch(`${server.url}/assets/app-1234.js`)).status).toBe(200)
      const missing = await fetch(`${server.url}/assets/app-0000.js`)
      expect(missing.status).toBe(404)
      expect(await missing.text()).not.toContain('<title>')
      const page = await fetch(`${server.url}/applications/shop`)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('<title>Eventline</title>')
    })
  })

  describe('POST /events ownership of ids', () => {
    it('refuses the same id twice in one body, naming the second, and stores nothing', async () => {
      const { status, body } = await server.post<ErrorBody>('/api/v1/events', [posted('dup-1'), posted('dup-2'), posted('dup-1', { message: 'again' })])
      expect(status).toBe(400)
      expect(body.error).toMatchObject({ code: 'invalid_argument', field: '[2].id' })
      expect((await server.get('/api/v1/events/dup-2')).status).toBe(404)
    })

    it("answers 409 for a source's event id and leaves it as it was, storing nothing of the body", async () => {
      await server.bus.publish({ events: [kubernetesEvent('kubernetes:uid-1')] })
      const before = (await server.get<EventItem>('/api/v1/events/kubernetes:uid-1')).body
      expect(before).toMatchObject({ source: 'kubernetes', mesh: 'prod-cluster' })

      const { status, body } = await server.post<ErrorBody>('/api/v1/events', [posted('innocent'), posted('kubernetes:uid-1', { mesh: 'prod-cluster', message: 'rewritten' })])
      expect(status).toBe(409)
      expect(body.error).toMatchObject({ code: 'conflict', field: '[1].id' })
      expect(body.error.message).toContain('kubernetes:uid-1')
      expect((await server.get<EventItem>('/api/v1/events/kubernetes:uid-1')).body).toEqual(before)
      expect((await server.get('/api/v1/events/innocent')).status).toBe(404)
    })

    it('answers 409 for a posted id of another mesh, and updates one of the same mesh', async () => {
      expect((await server.post('/api/v1/events', posted('mine', { mesh: 'team-a' }))).status).toBe(202)
      const other = await server.post<ErrorBody>('/api/v1/events', posted('mine', { mesh: 'team-b' }))
      expect(other.status).toBe(409)
      expect(other.body.error.field).toBe('[0].id')
      const same = await server.post('/api/v1/events', posted('mine', { mesh: 'team-a', message: 'updated', time: new Date(Date.now() + 1000).toISOString() }))
      expect(same.status).toBe(202)
      expect((await server.get<EventItem>('/api/v1/events/mine')).body).toMatchObject({ mesh: 'team-a', message: 'updated', count: 2 })
    })

    it('never lets a posted event rewrite a source event inside the write either (a race past the check)', async () => {
      await server.bus.publish({ events: [kubernetesEvent('kubernetes:uid-2')] })
      // What the API would publish had the check run before the Kubernetes event was stored.
      await server.bus.publish({ events: [{ ...kubernetesEvent('kubernetes:uid-2'), source: 'api', component: 'api', mesh: 'api', message: 'rewritten', time: Date.now() }] })
      expect((await server.get<EventItem>('/api/v1/events/kubernetes:uid-2')).body).toMatchObject({ source: 'kubernetes', mesh: 'prod-cluster', message: 'Back-off restarting failed container' })
    })
  })

  describe('GET /events/:id', () => {
    it('answers one event, 404 when unknown, and leaves /events/stream to the stream', async () => {
      await server.post('/api/v1/events', posted('zk:/dubbo/org.example.Api/providers', { mesh: 'zk', application: 'orders' }))
      const { status, body } = await server.get<EventItem>(`/api/v1/events/${encodeURIComponent('zk:/dubbo/org.example.Api/providers')}`)
      expect(status).toBe(200)
      expect(body).toMatchObject({ id: 'zk:/dubbo/org.example.Api/providers', mesh: 'zk', application: 'orders', source: 'api', count: 1 })
      const missing = await server.get<ErrorBody>('/api/v1/events/no-such-event')
      expect(missing.status).toBe(404)
      expect(missing.body.error.code).toBe('not_found')
      const stream = await openSse(`${server.url}/api/v1/events/stream`, AUTH)
      expect(stream.status).toBe(200)
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/)
      stream.close()
    })
  })
})
