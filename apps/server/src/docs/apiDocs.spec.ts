/**
 * The generated documents under `docs/` are current (regenerate with `pnpm openapi`), valid, served,
 * and describe the server that runs: every `/api/v1` route is in the OpenAPI document and every
 * documented path is a route. The config schema accepts what the loader accepts, and refuses what
 * it refuses, on the example file and on typical mistakes.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as shared from '@eventline/shared'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv } from 'ajv'
import type { Express } from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { parseFileConfig } from '../rules/fileConfig.ts'
import { startTestServer, tempDir } from '../testing/testServer.ts'
import type { TestServer } from '../testing/testServer.ts'
import { configSchemaDocument, configSchemaText, DOC_FILES, openApiDocument, openApiText } from './apiDocs.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
const checkedIn = (file: string) => readFileSync(join(root, file), 'utf8')

type Paths = Record<string, Record<string, unknown>>

/** `METHOD /path` of every route under `/api/v1`, read from the app's router (`:name` as `{name}`). */
function apiRoutes(app: Express): string[] {
  const routes: string[] = []
  type Layer = { rawPath?: string; route?: { path: string; methods: Record<string, boolean> }; handle: { stack?: Layer[] } }
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}')
        for (const method of Object.keys(layer.route.methods)) routes.push(`${method.toUpperCase()} ${path}`)
      } else if (layer.handle.stack) {
        walk(layer.handle.stack, `${prefix}${layer.rawPath === '/' ? '' : (layer.rawPath ?? '')}`)
      }
    }
  }
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '')
  return routes.filter((route) => route.includes(' /api/v1/')).map((route) => route.replace(' /api/v1/', ' /'))
}

describe('docs/openapi.json', () => {
  const tmp = tempDir()
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer({ db: join(tmp.dir, 'docs.db') })
  })
  afterAll(async () => {
    await server.stop()
    tmp.cleanup()
  })

  it('is what the schemas generate (run `pnpm openapi` after changing them)', () => {
    expect(checkedIn(DOC_FILES.openapi), 'docs/openapi.json is stale: run pnpm openapi').toBe(openApiText())
  })

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator()
    const result = await validator.validate(openApiDocument())
    expect(validator.version).toBe('3.1')
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
  })

  it('is served at GET /api/v1/openapi.json', async () => {
    const { status, body } = await server.get('/api/v1/openapi.json')
    expect(status).toBe(200)
    expect(body).toEqual(JSON.parse(checkedIn(DOC_FILES.openapi)))
  })

  it('describes every /api/v1 route of the server, and no route it does not have', () => {
    const routes = apiRoutes(server.app).sort()
    const documented = Object.entries(openApiDocument().paths as Paths)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
      .sort()
    expect(routes.length).toBeGreaterThan(10)
    // A route missing here is to be added to API_OPERATIONS in packages/shared/src/openapi.ts.
    expect(documented).toEqual(routes)
  })

  it('lists every request schema the shared package exports as a component', () => {
    const schemas = (openApiDocument().components as { schemas: Record<string, unknown> }).schemas
    const exported = Object.entries(shared).filter(([name, value]) => name.endsWith('Schema') && value instanceof z.ZodType)
    expect(exported.length).toBeGreaterThan(5)
    for (const [name] of exported) expect(schemas, name).toHaveProperty(name.charAt(0).toUpperCase() + name.slice(1).replace(/Schema$/, ''))
  })

  it('has a response schema for each JSON answer and the request schemas as components', () => {
    const document = openApiDocument()
    const schemas = (document.components as { schemas: Record<string, unknown> }).schemas
    for (const name of ['EventItem', 'EventPage', 'Error', 'Mesh', 'Instance', 'ServiceDetail', 'DubboAdminEventResponse', 'TimelineQuery', 'PostEvent']) expect(schemas, name).toHaveProperty(name)
    const getEvents = (document.paths as Paths)['/events']!.get as { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }
    expect(getEvents.responses['200']!.content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/EventPage' })
  })
})

describe('docs/eventline.schema.json', () => {
  const ajv = new Ajv({ allErrors: true, strict: false })
  const validate = ajv.compile(configSchemaDocument())
  const example = readFileSync(join(root, 'apps/server/src/rules/eventline.example.yaml'), 'utf8')

  it('is what the config schema generates (run `pnpm openapi` after changing it)', () => {
    expect(checkedIn(DOC_FILES.config), 'docs/eventline.schema.json is stale: run pnpm openapi').toBe(configSchemaText())
  })

  it('accepts the example file, which the loader accepts too', () => {
    const env = { NATS_TOKEN: 'x', SLACK_WEBHOOK_URL: 'https://hooks.example.com/x', WEBHOOK_URL: 'https://example.com/hook' }
    const expanded = example.replace(/\$\{(\w+)\}/g, (_match, name: string) => env[name as keyof typeof env] ?? 'set')
    expect(() => parseFileConfig(expanded, 'eventline.yaml')).not.toThrow()
    expect(validate(parseYaml(example)), JSON.stringify(validate.errors)).toBe(true)
  })

  it.each([
    ['a single value where a list is allowed', 'ingest:\n  drop:\n    reason: ^Pulled$\n', true],
    ['an empty section', 'sinks:\nroutes:\n', true],
    ['a label that must be absent', 'ingest:\n  drop: [{ labels: { "app.kubernetes.io/name": false } }]\n', true],
    ['an unknown field', 'sinks:\n  - { name: hook, type: webhook, urll: https://example.com }\n', false],
    ['an unknown sink type', 'sinks:\n  - { name: q, type: carrier-pigeon }\n', false],
    ['an unknown event type', 'ingest:\n  keep: [{ source: telegraph }]\n', false],
    ['a bad name', 'routes:\n  - { name: "has space" }\n', false],
  ])('agrees with the loader on %s', (_what, text, valid) => {
    const loads = (() => {
      try {
        parseFileConfig(text, 'eventline.yaml')
        return true
      } catch {
        return false
      }
    })()
    expect(loads).toBe(valid)
    expect(validate(parseYaml(text) ?? {}), JSON.stringify(validate.errors)).toBe(valid)
  })
})
