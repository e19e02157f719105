/** Request validation with the shared schemas; a failure is a 400 naming the field. */
import { describeIssue } from '@eventline/shared'
import type { z } from 'zod'
import { invalidArgument } from '../errors.ts'

/**
 * Parses `input` with `schema`, throwing a 400 `invalid_argument` that names the first bad field.
 * `root` names the input itself when the problem is its shape (e.g. `body`).
 */
export function parse<S extends z.ZodType>(schema: S, input: unknown, root = 'query'): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const { field, message } = describeIssue(result.error)
  // A strict query schema refused a parameter: say which ones the endpoint takes (a typo's fix).
  if (root === 'query' && result.error.issues[0]?.code === 'unrecognized_keys') throw invalidArgument(field, unknownParameter(schema))
  throw invalidArgument(field || root, message)
}

function unknownParameter(schema: z.ZodType): string {
  const shape = (schema as { shape?: Record<string, unknown> }).shape
  const known = shape ? Object.keys(shape) : []
  return known.length === 0 ? 'this endpoint takes no query parameters' : `unknown query parameter; expected one of ${known.join(', ')}`
}
