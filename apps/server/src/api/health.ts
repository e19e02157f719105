/** Probes and metrics outside `/api`: `/healthz`, `/readyz`, `/metrics`. */
import { Router } from 'express'
import type { Metrics } from '../metrics.ts'
import type { EventStore } from '../store/types.ts'

/** `isLeader`: whether this replica leads (contract §6); one process on SQLite always does. */
export function healthRouter(store: EventStore, metrics: Metrics, isLeader: () => boolean = () => true): Router {
  const router = Router()
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  router.get('/readyz', (_req, res) => {
    const ready = store.isOpen()
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'store closed', leader: isLeader() })
  })
  router.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
  return router
}
