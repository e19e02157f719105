/** `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the request and response schemas. */
import { Router } from 'express'
import { openApiDocument } from '../docs/apiDocs.ts'

export function openApiRouter(): Router {
  const router = Router()
  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument())
  })
  return router
}
