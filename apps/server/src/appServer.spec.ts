/**
 * `appServer`: requests and responses start with the Express app's prototypes, so Express's
 * per-request prototype swap (which kept V8's young objects alive: see `appServer`) changes nothing,
 * and the app still answers as Express would.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
import { describe, expect, it } from 'vitest'
import { appServer } from './app.ts'

describe('appServer', () => {
  it("makes each request and response with the app's prototypes before Express sees them", async () => {
    const app = express()
    app.get('/probe', (req, res) => {
      res.set('X-Probe', 'yes').json({ q: req.query.q, path: req.path, ip: req.ip })
    })
    const server = appServer(app)
    const before: boolean[] = []
    server.prependListener('request', (req, res) => before.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      for (let i = 0; i < 2; i++) {
        const answer = await fetch(`http://127.0.0.1:${port}/probe?q=x${i}`)
        expect(answer.status).toBe(200)
        expect(answer.headers.get('x-probe')).toBe('yes')
        expect(await answer.json()).toEqual({ q: `x${i}`, path: '/probe', ip: '127.0.0.1' })
      }
      expect(before).toEqual([true, true])
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
