#!/usr/bin/env node
// `pnpm test`: type checks, lint, unit and integration tests (vitest: real SQLite, real HTTP), then the
// browser tests (Playwright in Chromium) against a fresh build. Every step runs even when an earlier
// one failed (the browser tests need the build, so they are skipped only when it failed), and the
// summary names each failing step: one CI run tells everything that is wrong.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const steps = [
  { name: 'type check', command: 'pnpm', args: ['check'] },
  { name: 'lint', command: 'pnpm', args: ['lint'] },
  { name: 'build', command: 'pnpm', args: ['build'] },
  { name: 'unit and integration tests', command: 'pnpm', args: ['exec', 'vitest', 'run'] },
  { name: 'browser tests', command: 'pnpm', args: ['--filter', '@eventline/e2e', 'test'], needs: 'build' },
]
const failed = []
for (const { name, command, args, needs } of steps) {
  if (needs && failed.includes(needs)) {
    process.stdout.write(`\n== ${name}: not run (${needs} failed)\n`)
    failed.push(name)
    continue
  }
  process.stdout.write(`\n== ${name}: ${command} ${args.join(' ')}\n`)
  const { status, signal } = spawnSync(command, args, { cwd: root, stdio: 'inherit' })
  if (status !== 0) {
    process.stdout.write(`\n== ${name} failed (${signal ?? `exit ${status}`})\n`)
    failed.push(name)
  }
}
if (failed.length > 0) {
  process.stdout.write(`\n== failed: ${failed.join(', ')}\n`)
  process.exit(1)
}
process.stdout.write('\n== all tests passed\n')
