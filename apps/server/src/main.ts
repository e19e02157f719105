/** Process entry: parse config (exit 2 when invalid), start, and shut down gracefully on signals. */
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, helpText, loadConfig, parseCommandLine } from './config.ts'
import type { Config } from './config.ts'
import { startEventline } from './eventline.ts'
import { createLogger } from './log.ts'
import { VERSION } from './version.ts'
import { abandonedStoreThreads } from './store/sqlite/threadedStore.ts'

let config: Config
try {
  // --help and --version answer before the rest is validated: they must work with a broken setup.
  const command = parseCommandLine(process.argv.slice(2))
  if (command.help || command.version) {
    process.stdout.write(command.help ? helpText(VERSION) : `${VERSION}\n`)
    process.exit(0)
  }
  config = loadConfig(process.argv.slice(2), process.env)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`eventline: invalid configuration: ${error.message}\n`)
  process.exit(2)
}

// The SPA sits beside the server in the workspace (and in the image): apps/web/dist.
const here = dirname(fileURLToPath(import.meta.url))
const webDir = [resolve(here, '../../web/dist'), resolve(here, '../../../web/dist')].find((dir) => existsSync(dir))
const log = createLogger(config.logLevel)

// The server answers (and logs "listening") before start-up ends: the leader's sources still start
// after it. A signal in that window must not kill the process with its default action; it is
// held and acted on once Eventline can stop cleanly.
let earlySignal: NodeJS.Signals | undefined
const holdSignal = (signal: NodeJS.Signals) => {
  earlySignal ??= signal
}
process.on('SIGTERM', holdSignal)
process.on('SIGINT', holdSignal)

try {
  const eventline = await startEventline({ ...config, ...(webDir ? { webDir } : {}) }, log)
  process.off('SIGTERM', holdSignal)
  process.off('SIGINT', holdSignal)
  let signalled = false
  const exit = (code: number) => {
    // process.exit() joins every worker thread; a reader cut off at its query budget may still be
    // inside a SQLite statement for a long time, and would hold the exit until it ends. The store
    // is closed by now (or the shutdown gave up), so end at once: SIGTERM's default action.
    const abandoned = abandonedStoreThreads()
    if (abandoned === 0) process.exit(code)
    log.warn('query threads cut off at their budget are still running; ending the process without waiting for them', { threads: abandoned, exitCode: code })
    process.removeAllListeners('SIGTERM')
    process.kill(process.pid, 'SIGTERM')
  }
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn('second signal, exiting without waiting', { signal })
      exit(1)
      return
    }
    signalled = true
    log.info('shutting down', { signal })
    const timeout = setTimeout(() => {
      log.error('shutdown took longer than 10 s, exiting')
      exit(1)
    }, 10_000).unref()
    eventline.stop().then(
      () => {
        clearTimeout(timeout)
        exit(0)
      },
      (error: unknown) => {
        log.error('shutdown failed', { error })
        exit(1)
      },
    )
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
  if (earlySignal) shutdown(earlySignal)
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`eventline: invalid configuration: ${error.message}\n`)
    process.exit(2)
  }
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE' || code === 'EACCES') {
    process.stderr.write(`eventline: cannot listen on ${config.host}:${config.port}: ${code === 'EADDRINUSE' ? 'address in use' : 'permission denied'}\n`)
    process.exit(2)
  }
  log.error('start-up failed', { error })
  process.exit(1)
}
