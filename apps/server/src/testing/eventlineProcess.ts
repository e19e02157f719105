/**
 * Runs the real entry point (`src/main.ts`, under tsx) as a separate process, the way an operator
 * runs Eventline, for reliability tests and benchmarks that need what an in-process server cannot
 * show: a stalled event loop seen from outside, the process's own memory (RSS), signals and exit
 * codes, a kill -9, a full disk, a database lock held by someone else. Known limit: the first start
 * in a run pays tsx's compile time (a few seconds on a loaded machine).
 */
import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const serverRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface EventlineProcess {
  child: ChildProcessWithoutNullStreams
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
  /** Resolves with the base URL once the process logs that it listens; rejects if it exits first. */
  listening: Promise<string>
  output(): { stdout: string; stderr: string }
  /** Resident set size of the process in bytes, from the process table (`/proc/<pid>/status`). */
  rssBytes(): number
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>
}

/** Starts `node --import tsx src/main.ts ...args` with a clean environment plus `env`. */
export function startEventlineProcess(args: string[], env: Record<string, string> = {}): EventlineProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: serverRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', EVENTLINE_KUBERNETES: 'off', ...env },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  // The "listening" line (info level) carries the port the process bound.
  const listening = new Promise<string>((resolve, reject) => {
    const look = () => {
      const line = stdout.split('\n').find((text) => text.includes('"msg":"listening"'))
      if (line) resolve(`http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`)
    }
    child.stdout.on('data', look)
    void exited.then((code) => reject(new Error(`eventline exited (${code}) before listening: ${stderr}`)))
  })
  listening.catch(() => {})
  return {
    child,
    exited,
    listening,
    output: () => ({ stdout, stderr }),
    rssBytes: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
      if (kib === undefined) throw new Error(`no VmRSS for process ${child.pid}`)
      return Number(kib) * 1024
    },
    stop: async (graceMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return exited
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}

/** A started process that is listening: its URL at hand, output as one text. */
export interface ServerProcess {
  child: ChildProcessWithoutNullStreams
  url: string
  exited: Promise<number | null>
  /** What the process printed so far (JSON log lines, then stderr), for failure messages. */
  output(): string
  /** SIGTERM and wait for the exit; SIGKILL if it does not exit within 15 s. */
  stop(): Promise<number | null>
}

/** Starts `main.ts` on a free loopback port and waits until it listens (its log level must keep info lines). */
export async function startServerProcess(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const started = startEventlineProcess(['--port', '0', '--host', '127.0.0.1', ...args], env)
  const url = await started.listening
  return {
    child: started.child,
    url,
    exited: started.exited,
    output: () => {
      const { stdout, stderr } = started.output()
      return stdout + stderr
    },
    stop: () => started.stop(),
  }
}
