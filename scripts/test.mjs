#!/usr/bin/env node
// `pnpm test`: type checks, lint, unit and integration tests (vitest: real SQLite, real HTTP), then the
// browser tests (Playwright in Chromium) against a fresh build. Stops at the first failing step.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const steps = [
  ['type check', 'pnpm', ['check']],
  ['lint', 'pnpm', ['lint']],
  ['build', 'pnpm', ['build']],
  ['unit and integration tests', 'pnpm', ['exec', 'vitest', 'run']],
  ['browser tests', 'pnpm', ['--filter', '@eventline/e2e', 'test']],
]
for (const [name, command, args] of steps) {
  process.stdout.write(`\n== ${name}: ${command} ${args.join(' ')}\n`)
  const { status, signal } = spawnSync(command, args, { cwd: root, stdio: 'inherit' })
  if (status !== 0) {
    process.stdout.write(`\n== ${name} failed (${signal ?? `exit ${status}`})\n`)
    process.exit(status || 1)
  }
}
process.stdout.write('\n== all tests passed\n')
