/**
 * `BENCH=replicas pnpm bench`: two Eventline replicas (separate `node` processes, production lease
 * timings) on one PostgreSQL (a schema of its own, dropped afterwards).
 *
 * For `REPLICA_SECONDS` (default 10) the leader ingests `REPLICA_RATE` events/s (default 2,000,
 * posted in batches of 100; the stand-in for its sources) while the follower serves 50 timeline
 * clients in closed loops (`GET /api/v1/events?limit=50`) and one live stream. Reported: the
 * follower's timeline latency, the delay from an event's commit on the leader (its POST answered)
 * to its frame on the follower's stream, whether the stream carried every event once, and the
 * failover time: `kill -9` of the leader until the follower's `/readyz` says it leads.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { PostEvent } from '@eventline/shared'
import { dropSchema, TEST_PG_URL, testSchema } from '../src/testing/postgres.ts'
import { openSse } from '../src/testing/sseClient.ts'
import { latency, mergeResults, printTable, RESULTS_FILE, round, showLatency } from './results.ts'

const SECONDS = Number(process.env.REPLICA_SECONDS ?? 10)
const RATE = Number(process.env.REPLICA_RATE ?? 2_000)
const CLIENTS = 50
const BATCH = 100
const TOKEN = 'bench-token-123'
const AUTH = { authorization: `Bearer ${TOKEN}` }
const serverRoot = join(dirname(fileURLToPath(import.meta.url)), '..')

async function startReplica(db: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/testing/replicaProcess.ts', JSON.stringify({ db, token: TOKEN })], { cwd: serverRoot, stdio: ['ignore', 'pipe', 'ignore'] })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`replica exited with ${code}`)))
  })
  return { child, url: (JSON.parse(line) as { url: string }).url }
}

const leads = async (url: string) => ((await (await fetch(`${url}/readyz`)).json()) as { leader: boolean }).leader

async function main(): Promise<void> {
  const schema = testSchema()
  const db = `${TEST_PG_URL}?schema=${schema}`
  const replicas: ChildProcess[] = []
  try {
    const leader = await startReplica(db)
    replicas.push(leader.child)
    while (!(await leads(leader.url))) await new Promise((resolve) => setTimeout(resolve, 100))
    const follower = await startReplica(db)
    replicas.push(follower.child)

    const stream = await openSse(`${follower.url}/api/v1/events/stream?mesh=bench`, AUTH)
    const committedAt = new Map<string, number>()
    const received = new Map<string, number>()
    let repeats = 0
    let cursor = 0
    const seen = () => {
      for (; cursor < stream.frames.length; cursor++) {
        const frame = stream.frames[cursor]!
        if (frame.data === undefined) continue
        const id = (JSON.parse(frame.data) as { id: string }).id
        if (received.has(id)) repeats++
        else received.set(id, performance.now())
      }
    }
    const poll = setInterval(seen, 5)

    let running = true
    const timelines: number[] = []
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (running) {
        const started = performance.now()
        const response = await fetch(`${follower.url}/api/v1/events?limit=50`, { headers: AUTH })
        await response.arrayBuffer()
        if (response.ok) timelines.push(performance.now() - started)
      }
    })

    const total = SECONDS * RATE
    const startedAt = performance.now()
    const posts: Promise<void>[] = []
    for (let sent = 0; sent < total; sent += BATCH) {
      const due = startedAt + (sent / RATE) * 1000
      const wait = due - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      const now = new Date().toISOString()
      const batch: PostEvent[] = Array.from({ length: BATCH }, (_, i) => ({
        id: `bench-${sent + i}`,
        time: now,
        type: 'normal',
        reason: 'Deployed',
        message: `event ${sent + i}`,
        mesh: 'bench',
        application: `app-${(sent + i) % 40}`,
        object: { kind: 'Pod', name: `pod-${(sent + i) % 400}` },
      }))
      posts.push(
        fetch(`${leader.url}/api/v1/events`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(batch) }).then(async (response) => {
          await response.arrayBuffer()
          if (response.status !== 202) throw new Error(`POST answered ${response.status}`)
          const at = performance.now()
          for (let i = 0; i < BATCH; i++) committedAt.set(`bench-${sent + i}`, at)
        }),
      )
    }
    await Promise.all(posts)
    const ingestSeconds = (performance.now() - startedAt) / 1000
    const deadline = performance.now() + 30_000
    while (received.size < total && performance.now() < deadline) {
      seen()
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    running = false
    await Promise.all(clients)
    clearInterval(poll)
    seen()
    stream.close()
    // An event can reach the stream before its POST's answer reaches the client: that counts as 0.
    const delays = [...received].flatMap(([id, at]) => (committedAt.has(id) ? [Math.max(0, at - committedAt.get(id)!)] : []))

    const killedAt = performance.now()
    leader.child.kill('SIGKILL')
    while (!(await leads(follower.url))) await new Promise((resolve) => setTimeout(resolve, 100))
    const failoverMs = performance.now() - killedAt

    const timeline = latency(timelines)
    const delay = latency(delays)
    printTable([
      ['replicas (2 processes, one PostgreSQL)', 'value', '', ''],
      ['ingest on the leader', `${round(total / ingestSeconds, 0)} events/s`, `${total} events`, ''],
      ['follower timeline p50 / p99 / max (50 clients)', showLatency(timeline), `${timeline.samples} requests`, `${round(timeline.samples / ingestSeconds, 0)}/s`],
      ['commit on leader -> follower stream p50 / p99 / max', showLatency(delay), `${received.size} of ${total} received`, `${repeats} repeated`],
      ['failover (kill -9, 15 s lease)', `${round(failoverMs / 1000, 1)} s`, '', ''],
    ])
    mergeResults({
      replicas: { events: total, ingestPerS: round(total / ingestSeconds, 0), followerTimeline: timeline, streamDelay: delay, streamReceived: received.size, streamRepeats: repeats, failoverS: round(failoverMs / 1000, 1) },
    })
    console.log(`\nwritten to ${RESULTS_FILE}`)
  } finally {
    for (const child of replicas) child.kill('SIGKILL')
    await dropSchema(schema)
  }
}

await main()
