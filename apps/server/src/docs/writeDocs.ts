/** `pnpm openapi`: regenerates the checked-in documents under `docs/` from the zod schemas. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configSchemaText, DOC_FILES, openApiText } from './apiDocs.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
for (const [file, text] of [
  [DOC_FILES.openapi, openApiText()],
  [DOC_FILES.config, configSchemaText()],
] as const) {
  mkdirSync(dirname(join(root, file)), { recursive: true })
  writeFileSync(join(root, file), text)
  process.stdout.write(`wrote ${file}\n`)
}
