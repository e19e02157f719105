/**
 * The generated documents checked in under `docs/`: the OpenAPI description of the API and the
 * JSON Schema of `eventline.yaml`. Both come from the zod schemas that validate requests and the
 * config file, so they cannot say something the server does not do. `pnpm openapi` writes them
 * (`writeDocs.ts`); `apiDocs.spec.ts` fails when the checked-in files differ.
 *
 * Known limits (candidly): checks written as code in the config schema (names that must resolve,
 * unique names, user and pass together) are not expressible in JSON Schema; editors flag shape
 * and type mistakes, and Eventline's start-up check reports the rest.
 */
import { buildOpenApiDocument } from '@eventline/shared/openapi'
import { z } from 'zod'
import { asList, fileSchema, nullAsAbsent } from '../rules/fileConfig.ts'
import { VERSION } from '../version.ts'

/** Where the generated documents live, relative to the repository root. */
export const DOC_FILES = { openapi: 'docs/openapi.json', config: 'docs/eventline.schema.json' } as const

let openApi: Record<string, unknown> | undefined

/** The OpenAPI 3.1 document, built once per process (it only changes with the code). */
export function openApiDocument(): Record<string, unknown> {
  return (openApi ??= buildOpenApiDocument(VERSION))
}

/** `docs/openapi.json` as it must read. */
export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`
}

type JsonSchema = Record<string, unknown>

/**
 * What the config loader reads before validating, said in JSON Schema: a single value where a list
 * is expected is a one-item list, and an empty section (`sinks:` alone) is absent.
 */
function describeReadings(ctx: { zodSchema: z.core.$ZodTypes; jsonSchema: JsonSchema }): void {
  const def = ctx.zodSchema._zod.def
  if (def.type !== 'pipe' || def.in._zod.def.type !== 'transform') return
  const reading = (def.in._zod.def as { transform?: unknown }).transform
  const schema = ctx.jsonSchema
  if (reading !== asList && reading !== nullAsAbsent) return
  const copy = { ...schema }
  for (const key of Object.keys(schema)) delete schema[key]
  schema.anyOf = reading === asList ? [copy.items, copy] : [copy, { type: 'null' }]
}

/** The JSON Schema of `eventline.yaml` (draft-07, which YAML editors read). */
export function configSchemaDocument(): JsonSchema {
  const schema = z.toJSONSchema(fileSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any', reused: 'ref', override: describeReadings }) as JsonSchema
  const { $schema, ...rest } = schema
  return {
    $schema,
    title: 'eventline.yaml',
    description: 'Sinks, routes, the ingestion filter and alert rules of Eventline (EVENTLINE_CONFIG). ${NAME} in a string value is replaced by that environment variable.',
    ...rest,
  }
}

/** `docs/eventline.schema.json` as it must read. */
export function configSchemaText(): string {
  return `${JSON.stringify(configSchemaDocument(), null, 2)}\n`
}
