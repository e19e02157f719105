/**
 * Starts Eventline replicas as separate `node` processes (testing/replicaProcess.ts) for the
 * failover tests, and reads them over HTTP. `kill()` ends every one still running (SIGCONT first,
 * so a SIGSTOPped one dies too).
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { EventItem, EventPage } from '@eventline/shared'
import type { ReplicaSettings } from './replicaProcess.ts'

const serverRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface Replica {
  child: ChildProcess
  url: string
  holder: string
  /** Its log lines (stderr), for assertions and failure messages. */
  log: string[]
}

export class ReplicaCluster {
  readonly replicas: Replica[] = []

  /** Spawns a replica and resolves once it serves. */
  async start(settings: ReplicaSettings): Promise<Replica> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/testing/replicaProcess.ts', JSON.stringify(settings)], {
      cwd: serverRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const log: string[] = []
    createInterface({ input: child.stderr! }).on('line', (line) => log.push(line))
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve)
      child.once('exit', (code) => reject(new Error(`replica exited with ${code}: ${log.slice(-5).join('\n')}`)))
    })
    const { url, holder } = JSON.parse(first) as { url: string; holder: string }
    const replica = { child, url, holder, log }
    this.replicas.push(replica)
    return replica
  }

  /** Every replica still running (neither exited nor killed). */
  running(): Replica[] {
    return this.replicas.filter(({ child }) => child.exitCode === null && child.signalCode === null)
  }

  kill(): void {
    for (const { child } of this.running()) {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
    }
  }
}

export async function getJson<T>(replica: Replica, path: string): Promise<T> {
  const response = await fetch(`${replica.url}${path}`, { signal: AbortSignal.timeout(5_000) })
  return (await response.json()) as T
}

/** POSTs with the bearer `token` (the replicas' `token` setting); resolves with the status. */
export async function postJson(replica: Replica, path: string, body: unknown, token: string): Promise<number> {
  const response = await fetch(`${replica.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  })
  await response.arrayBuffer()
  return response.status
}

export async function isLeader(replica: Replica): Promise<boolean> {
  return (await getJson<{ status: string; leader: boolean }>(replica, '/readyz')).leader
}

/** Every event of `query` (e.g. `mesh=x`), walking all pages. */
export async function allEvents(replica: Replica, query: string): Promise<EventItem[]> {
  const items: EventItem[] = []
  let cursor: string | undefined
  do {
    const page = await getJson<EventPage>(replica, `/api/v1/events?${query}&limit=200${cursor ? `&cursor=${cursor}` : ''}`)
    items.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return items
}
