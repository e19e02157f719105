/**
 * Failover with real processes: Eventline replicas as separate `node` processes on the machine's
 * PostgreSQL (a schema per run, dropped after) and a real ZooKeeper (Debian's) whose registry
 * keeps changing. `kill -9` of the leader: another replica takes over well within 30 s and every
 * change is recorded once (none lost, none twice, one `RegistrySynced`). A SIGSTOPped leader that
 * resumes after its lease expired does not lead and writes nothing.
 *
 * The lease timings are shortened (3 s lease) so the test takes seconds; production's are 15 s.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { EventItem, EventPage } from '@eventline/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../testing/eventually.ts'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../testing/postgres.ts'
import type { ReplicaSettings } from '../testing/replicaProcess.ts'
import { connectWriter, dubboUrl, dubboUrlPath, skipWithoutZooKeeper, startZooKeeper } from '../testing/zookeeperServer.ts'
import type { ZkWriter, ZooKeeperServer } from '../testing/zookeeperServer.ts'

const serverRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const MESH = 'zk-failover'
const SERVICE = 'org.apache.dubbo.demo.FailoverService'
const LEASE = { leaseMs: 3_000, renewMs: 500, renewDeadlineMs: 2_000, retryMs: 250 }

const skip = skipWithoutZooKeeper() || (await skipWithoutPostgres())

interface Replica {
  child: ChildProcess
  url: string
  holder: string
  log: string[]
}

const provider = (n: number) => dubboUrlPath(dubboUrl({ ip: `10.9.0.${n}`, port: 20880, service: SERVICE, application: 'failover-app', version: '1.0.0' }), { service: SERVICE })

describe.skipIf(skip)('failover between Eventline processes on PostgreSQL', () => {
  const schema = testSchema()
  const db = `${TEST_PG_URL}?schema=${schema}`
  let zookeeper: ZooKeeperServer
  let writer: ZkWriter
  const replicas: Replica[] = []

  const startReplica = async (): Promise<Replica> => {
    const settings: ReplicaSettings = { db, registries: `zookeeper://${zookeeper.connectString}?name=${MESH}`, leadership: LEASE }
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
    replicas.push(replica)
    return replica
  }
  const get = async <T>(replica: Replica, path: string): Promise<T> => {
    const response = await fetch(`${replica.url}${path}`, { signal: AbortSignal.timeout(5_000) })
    return (await response.json()) as T
  }
  const isLeader = async (replica: Replica) => (await get<{ status: string; leader: boolean }>(replica, '/readyz')).leader
  const events = async (replica: Replica): Promise<EventItem[]> => {
    const items: EventItem[] = []
    let cursor: string | undefined
    do {
      const page = await get<EventPage>(replica, `/api/v1/events?mesh=${MESH}&limit=200${cursor ? `&cursor=${cursor}` : ''}`)
      items.push(...page.items)
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    return items
  }
  /** How many events of each `reason instance`: what must be exactly one each. */
  const tally = (items: readonly EventItem[]) => {
    const counts = new Map<string, number>()
    for (const item of items) {
      const key = item.reason === 'RegistrySynced' ? item.reason : `${item.reason} ${item.instance}`
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1)))
  }

  beforeAll(async () => {
    zookeeper = await startZooKeeper()
    writer = await connectWriter(zookeeper.connectString)
  }, 60_000)
  afterAll(async () => {
    for (const { child } of replicas) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT')
        child.kill('SIGKILL')
      }
    }
    writer?.close()
    await zookeeper?.close()
    await dropSchema(schema)
  })

  it('kill -9 of the leader while the registry changes: another takes over within 30 s, every change recorded once', async () => {
    const first = await startReplica()
    await eventually(async () => expect(await isLeader(first)).toBe(true), 20_000)
    const second = await startReplica()
    expect(await isLeader(second)).toBe(false)

    // Phase 1, the first replica leads: ten providers register.
    for (let n = 1; n <= 10; n++) await writer.create(provider(n))
    await eventually(async () => expect((await events(second)).filter((item) => item.reason === 'ProviderRegistered')).toHaveLength(10), 30_000)

    // Phase 2: providers keep coming and going; the leader dies in the middle of it.
    const expected: Record<string, number> = { RegistrySynced: 1 }
    for (let n = 1; n <= 30; n++) expected[`ProviderRegistered 10.9.0.${n}:20880`] = 1
    for (let n = 1; n <= 5; n++) expected[`ProviderUnregistered 10.9.0.${n}:20880`] = 1
    let killedAt = 0
    for (let n = 11; n <= 30; n++) {
      await writer.create(provider(n))
      if (n <= 15) await writer.remove(provider(n - 10))
      if (n === 18) {
        first.child.kill('SIGKILL')
        killedAt = performance.now()
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const tookOverMs = await eventually(async () => {
      expect(await isLeader(second)).toBe(true)
      return performance.now() - killedAt
    }, 30_000)
    expect(tookOverMs).toBeLessThan(30_000)
    await eventually(async () => expect(tally(await events(second))).toEqual(expected), 30_000)
    // Nothing more arrives later (a late duplicate would show here), and the second one's view is the stored one.
    await writer.create(provider(31))
    expected['ProviderRegistered 10.9.0.31:20880'] = 1
    await eventually(async () => expect(tally(await events(second))).toEqual(expected), 30_000)
    console.info(`[failover] takeover ${Math.round(tookOverMs)} ms after kill -9 (lease ${LEASE.leaseMs} ms)`)
  }, 180_000)

  it('a SIGSTOPped leader that resumes after its lease expired does not lead and writes nothing', async () => {
    const leader = replicas.find((replica) => replica.child.exitCode === null && replica.child.signalCode === null)!
    expect(await isLeader(leader)).toBe(true)
    const standby = await startReplica()
    const before = tally(await events(standby))
    leader.child.kill('SIGSTOP')
    await eventually(async () => expect(await isLeader(standby)).toBe(true), 30_000)
    // A change while the old leader is frozen: the new one records it.
    await writer.create(provider(40))
    await eventually(async () => expect(tally(await events(standby))).toEqual({ ...before, 'ProviderRegistered 10.9.0.40:20880': 1 }), 30_000)
    leader.child.kill('SIGCONT')
    await eventually(async () => expect(await isLeader(leader)).toBe(false), 10_000)
    expect(leader.log.some((line) => line.includes('no longer leading'))).toBe(true)
    // Another change: recorded once, by the current leader; the resumed one stays a follower.
    await writer.create(provider(41))
    await eventually(
      async () => expect(tally(await events(leader))).toEqual({ ...before, 'ProviderRegistered 10.9.0.40:20880': 1, 'ProviderRegistered 10.9.0.41:20880': 1 }),
      30_000,
    )
    expect(await isLeader(standby)).toBe(true)
    expect(await isLeader(leader)).toBe(false)
  }, 120_000)
})
