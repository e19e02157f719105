/** Meshes and the resource catalog (`/meshes`, `/applications`, `/instances`, `/services`). */
import { instanceListQuerySchema, meshQuerySchema, noQuerySchema, resourceListQuerySchema } from '@eventline/shared'
import type { ListResponse, Mesh, Page, ResourceListQuery } from '@eventline/shared'
import { Router } from 'express'
import { notFound } from '../errors.ts'
import type { MeshStatusBoard } from '../services/meshStatus.ts'
import { decodeCursor, encodeCursor } from '../store/cursor.ts'
import type { EventStore, ResourceListFilter, ResourceListResult } from '../store/types.ts'
import { parse } from './validate.ts'

function listFilter({ cursor, ...query }: ResourceListQuery): ResourceListFilter {
  if (cursor === undefined) return query
  const [mesh, name] = decodeCursor(cursor, ['s', 's'] as const)
  return { ...query, after: { mesh, name } }
}

function toPage<T>({ items, next, total }: ResourceListResult<T>): Page<T> {
  return { items, nextCursor: next ? encodeCursor([next.mesh, next.name]) : null, total }
}

/** Resolves an entity or answers 404 naming what was looked for. */
function found<T>(value: T | undefined, what: string, name: string, mesh?: string): T {
  if (value === undefined) throw notFound(`${what} "${name}" not found${mesh ? ` in mesh "${mesh}"` : ''}`)
  return value
}

export function resourcesRouter(store: EventStore, meshStatus: MeshStatusBoard): Router {
  const router = Router()

  router.get('/meshes', async (req, res) => {
    parse(noQuerySchema, req.query)
    const body: ListResponse<Mesh> = { items: await meshStatus.describe(await store.meshes()) }
    res.json(body)
  })

  router.get('/applications', async (req, res) => {
    res.json(toPage(await store.applications(listFilter(parse(resourceListQuerySchema, req.query)), Date.now())))
  })
  router.get('/applications/:name', async (req, res) => {
    const { mesh } = parse(meshQuerySchema, req.query)
    res.json(found(await store.application(req.params.name, mesh), 'application', req.params.name, mesh))
  })

  router.get('/instances', async (req, res) => {
    res.json(toPage(await store.instances(listFilter(parse(instanceListQuerySchema, req.query)))))
  })
  router.get('/instances/:name', async (req, res) => {
    const { mesh } = parse(meshQuerySchema, req.query)
    res.json(found(await store.instance(req.params.name, mesh), 'instance', req.params.name, mesh))
  })

  router.get('/services', async (req, res) => {
    res.json(toPage(await store.services(listFilter(parse(resourceListQuerySchema, req.query)))))
  })
  router.get('/services/:name', async (req, res) => {
    const { mesh } = parse(meshQuerySchema, req.query)
    res.json(found(await store.service(req.params.name, mesh), 'service', req.params.name, mesh))
  })

  return router
}
