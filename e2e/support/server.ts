/**
 * Starts the real, built server (apps/server/dist/main.js) on a free port with a throwaway
 * SQLite file, the way an operator would, and stops it again.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const SERVER_MAIN = join(REPO_ROOT, 'apps/server/dist/main.js')
export const WEB_INDEX = join(REPO_ROOT, 'apps/web/dist/index.html')
export const E2E_TOKEN = 'e2e-token'

const START_TIMEOUT_MS = 20_000
const STOP_TIMEOUT_MS = 10_000
const OUTPUT_LINES_KEPT = 200

export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  url: string
  port: number
  token: string
  /** The last lines the server printed (stdout and stderr), for failure messages. */
  output(): string
  /** SIGTERM, then SIGKILL if it does not exit in time; removes the temporary database. */
  stop(): Promise<void>
}

/**
 * Spawns `node apps/server/dist/main.js --port 0 --host 127.0.0.1 --db <tmp>/e2e.db --token e2e-token`
 * and resolves once its `"msg":"listening"` log line names the port it got.
 * Throws a message saying what to build when the server or the SPA has not been built.
 */
export async function startServer(): Promise<RunningServer> {
  for (const [file, what] of [
    [SERVER_MAIN, '@eventline/server'],
    [WEB_INDEX, '@eventline/web'],
  ] as const) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`pnpm build\` (or \`pnpm --filter ${what} build\`) first`)
  }

  const dataDir = await mkdtemp(join(tmpdir(), 'eventline-e2e-'))
  const child = spawn(
    process.execPath,
    [SERVER_MAIN, '--port', '0', '--host', '127.0.0.1', '--db', join(dataDir, 'e2e.db'), '--token', E2E_TOKEN],
    { cwd: REPO_ROOT, env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  )
  // A worker that dies mid-run must not leave the server behind.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  const output: string[] = []
  const remember = (line: string) => {
    output.push(line)
    if (output.length > OUTPUT_LINES_KEPT) output.shift()
  }
  const tail = () => output.join('\n')
  // Both streams are read to the end, so a chatty server never blocks on a full pipe.
  createInterface({ input: child.stderr! }).on('line', remember)

  const stop = async () => {
    process.off('exit', killOnExit)
    await terminate(child)
    await rm(dataDir, { recursive: true, force: true })
  }

  try {
    const port = await waitForListening(child, remember, tail)
    return { url: `http://127.0.0.1:${port}`, port, token: E2E_TOKEN, output: tail, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

// The server's own settings come from the flags above and these; nothing leaks in from the
// developer's shell (a configured registry or Kubernetes context would add sources to the run).
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('EVENTLINE_')) env[key] = value
  }
  return { ...env, EVENTLINE_KUBERNETES: 'off', EVENTLINE_LOG_LEVEL: 'info' }
}

function waitForListening(child: ChildProcess, remember: (line: string) => void, tail: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(`the server did not log "listening" within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS,
    )
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(`the server exited (${signal ?? `code ${code}`}) before listening`)
    const fail = (reason: string) => {
      clearTimeout(timer)
      child.off('exit', onExit)
      reject(new Error(`${reason}; its last output:\n${tail()}`))
    }
    child.once('exit', onExit)
    child.once('error', (error) => fail(`the server could not be started: ${error.message}`))

    createInterface({ input: child.stdout! }).on('line', (line) => {
      remember(line)
      const port = listeningPort(line)
      if (port === undefined) return
      clearTimeout(timer)
      child.off('exit', onExit)
      resolve(port)
    })
  })
}

/** The port of a `{"msg":"listening","port":N,...}` JSON log line; `undefined` for any other line. */
function listeningPort(line: string): number | undefined {
  try {
    const entry: unknown = JSON.parse(line)
    if (typeof entry !== 'object' || entry === null) return undefined
    const { msg, port } = entry as { msg?: unknown; port?: unknown }
    return msg === 'listening' && typeof port === 'number' && Number.isInteger(port) && port > 0 ? port : undefined
  } catch {
    return undefined
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS)
  })
  if (await Promise.race([exited.then(() => false), timedOut])) {
    child.kill('SIGKILL')
    await exited
  }
  clearTimeout(timer)
}
