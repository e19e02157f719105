/**
 * Probes and metrics outside `/api`: `/healthz`, `/readyz`, `/metrics`. None of them reads the
 * store: `/healthz` must answer within 1 s whatever queries run, and `/readyz` answers from what
 * the store already knows (open, and whether the last write failed).
 */
import { Router } from 'express'
import { RETRY_AFTER_SECONDS } from '../errors.ts'
import type { Metrics } from '../metrics.ts'
import type { EventStore } from '../store/types.ts'

/** `isLeader`: whether this replica leads (contract §6); one process on SQLite always does. */
export function healthRouter(store: EventStore, metrics: Metrics, isLeader: () => boolean = () => true): Router {
  const router = Router()
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  router.get('/readyz', (_req, res) => {
    const leader = isLeader()
    if (!store.isOpen()) return void res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS)).json({ status: 'unavailable', reason: 'store closed', leader })
    const failure = store.writeFailure()
    if (failure !== undefined) return void res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS)).json({ status: 'unavailable', reason: failure, leader })
    res.json({ status: 'ready', leader })
  })
  router.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
  return router
}
