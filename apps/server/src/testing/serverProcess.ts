/**
 * Runs the real entry point (`src/main.ts` under tsx) as a child process, the way an operator runs
 * Eventline: for tests that kill it, fill its disk or hold its database's lock. Known limit: the
 * first start in a run pays tsx's compile time (a few seconds on a loaded machine).
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const SERVER_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface ServerProcess {
  child: ChildProcess
  url: string
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>
  /** What the process printed so far (JSON log lines and stderr), for failure messages. */
  output(): string
  /** SIGTERM and wait for the exit; SIGKILL if it does not exit within 15 s. */
  stop(): Promise<number | null>
}

/** Starts `main.ts` with `args` and waits for its "listening" line (logged at info: keep the log level at info or below). */
export async function startServerProcess(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--port', '0', '--host', '127.0.0.1', ...args], {
    cwd: SERVER_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, EVENTLINE_KUBERNETES: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const port = await new Promise<number>((resolve, reject) => {
    const look = () => {
      const line = output.split('\n').find((text) => text.includes('"msg":"listening"'))
      if (line) resolve((JSON.parse(line) as { port: number }).port)
    }
    child.stdout!.on('data', look)
    void exited.then(() => reject(new Error(`the server exited before listening:\n${output}`)))
  })
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return exited
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    try {
      return await exited
    } finally {
      clearTimeout(timer)
    }
  }
  return { child, url: `http://127.0.0.1:${port}`, exited, output: () => output, stop }
}
