/** Sends a body that is JSON already (a store built it) as `res.json` would send its object. */
import type { Response } from 'express'

export function sendJson(res: Response, body: string): void {
  // res.json's steps after its JSON.stringify: the same Content-Type (res.send adds the charset).
  if (!res.get('Content-Type')) res.set('Content-Type', 'application/json')
  res.send(body)
}
