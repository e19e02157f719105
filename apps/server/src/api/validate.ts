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
  throw invalidArgument(field || root, message)
}
