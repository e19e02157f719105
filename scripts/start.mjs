#!/usr/bin/env node
// `pnpm start`: builds the SPA and the server when a build is missing or older than its sources,
// then runs the server in this process (so signals reach it directly). Arguments pass through.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Newest modification time under `path` (files and folders), 0 when absent. */
function newest(path) {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return readdirSync(path).reduce((max, name) => (name === 'node_modules' ? max : Math.max(max, newest(join(path, name)))), stat.mtimeMs)
}

const shared = join(root, 'packages/shared/src')
const builds = [
  { name: '@eventline/web', output: join(root, 'apps/web/dist/index.html'), sources: [join(root, 'apps/web/src'), join(root, 'apps/web/index.html'), shared] },
  { name: '@eventline/server', output: join(root, 'apps/server/dist/main.js'), sources: [join(root, 'apps/server/src'), shared] },
]
for (const build of builds) {
  const built = existsSync(build.output) ? statSync(build.output).mtimeMs : 0
  if (built > Math.max(...build.sources.map(newest))) continue
  process.stderr.write(`eventline: building ${build.name}\n`)
  execFileSync('pnpm', ['--filter', build.name, 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
}

await import(pathToFileURL(join(root, 'apps/server/dist/main.js')).href)
