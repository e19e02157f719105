/** JSON-lines logger on stdout (CONTRACT: `EVENTLINE_LOG_LEVEL`, logs are JSON lines). */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export type LogContext = Record<string, unknown>

export interface Logger {
  debug(msg: string, context?: LogContext): void
  info(msg: string, context?: LogContext): void
  warn(msg: string, context?: LogContext): void
  error(msg: string, context?: LogContext): void
  /** A logger that adds `context` to every line, e.g. `{ component: 'writer' }`. */
  child(context: LogContext): Logger
}

type Write = (line: string) => void

/** Creates a logger writing one JSON object per line; `write` is replaceable for tests. */
export function createLogger(level: LogLevel = 'info', write: Write = (line) => process.stdout.write(line), base: LogContext = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(level)
  const emit = (lineLevel: LogLevel, msg: string, context?: LogContext) => {
    if (LOG_LEVELS.indexOf(lineLevel) < threshold) return
    write(`${JSON.stringify({ time: new Date().toISOString(), level: lineLevel, msg, ...base, ...context }, errorReplacer)}\n`)
  }
  return {
    debug: (msg, context) => emit('debug', msg, context),
    info: (msg, context) => emit('info', msg, context),
    warn: (msg, context) => emit('warn', msg, context),
    error: (msg, context) => emit('error', msg, context),
    child: (context) => createLogger(level, write, { ...base, ...context }),
  }
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = createLogger('error', () => {})

// Errors serialise to `{}` by default; keep what an operator needs to act on.
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack }
  return value
}
