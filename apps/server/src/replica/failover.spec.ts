/**
 * Failover with real processes: Eventline replicas as separate `node` processes on the machine's
 * PostgreSQL (a schema per run, dropped after), a real ZooKeeper (Debian's) whose registry keeps
 * changing, and the Kubernetes test API server (list/watch with resourceVersions) whose cluster
 * keeps producing and updating events. `kill -9` of the leader: another replica takes over well
 * within 30 s and every change is recorded once (none lost, none twice, one `RegistrySynced`); the
 * Kubernetes source of the new leader resumes its events watch from the resourceVersion checkpoint
 * in the database (no re-list). A SIGSTOPped leader that resumes after its lease expired does not
 * lead and writes nothing.
 *
 * The lease timings are shortened (3 s lease) so the test takes seconds; production's are 15 s.
 */
import type { EventItem, Mesh } from '@eventline/shared'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../testing/eventually.ts'
import { writeKubeconfig } from '../testing/kubeconfig.ts'
import { makeEvent, startKubernetesApiServer } from '../testing/kubernetesApiServer.ts'
import type { KubeObject, KubernetesApiServer } from '../testing/kubernetesApiServer.ts'
import { dropSchema, skipWithoutPostgres, TEST_PG_URL, testSchema } from '../testing/postgres.ts'
import { allEvents, getJson, isLeader, ReplicaCluster } from '../testing/replicaCluster.ts'
import type { Replica } from '../testing/replicaCluster.ts'
import { connectWriter, dubboUrl, dubboUrlPath, skipWithoutZooKeeper, startZooKeeper } from '../testing/zookeeperServer.ts'
import type { ZkWriter, ZooKeeperServer } from '../testing/zookeeperServer.ts'

const MESH = 'zk-failover'
const CLUSTER = 'k8s-failover'
const SERVICE = 'org.apache.dubbo.demo.FailoverService'
const LEASE = { leaseMs: 3_000, renewMs: 500, renewDeadlineMs: 2_000, retryMs: 250 }

const skip = skipWithoutZooKeeper() || (await skipWithoutPostgres())

const provider = (n: number) => dubboUrlPath(dubboUrl({ ip: `10.9.0.${n}`, port: 20880, service: SERVICE, application: 'failover-app', version: '1.0.0' }), { service: SERVICE })

describe.skipIf(skip)('failover between Eventline processes on PostgreSQL', () => {
  const schema = testSchema()
  const db = `${TEST_PG_URL}?schema=${schema}`
  let zookeeper: ZooKeeperServer
  let writer: ZkWriter
  let api: KubernetesApiServer
  let kubeconfig: ReturnType<typeof writeKubeconfig>
  const cluster = new ReplicaCluster()
  const sql = new pg.Client({ connectionString: TEST_PG_URL })

  const startReplica = () =>
    cluster.start({ db, registries: `zookeeper://${zookeeper.connectString}?name=${MESH}`, kubeconfig: kubeconfig.path, leadership: LEASE })
  const events = (replica: Replica) => allEvents(replica, `mesh=${MESH}`)
  /** How many events of each `reason instance`: what must be exactly one each. */
  const tally = (items: readonly EventItem[]) => {
    const counts = new Map<string, number>()
    for (const item of items) {
      const key = item.reason === 'RegistrySynced' ? item.reason : `${item.reason} ${item.instance}`
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1)))
  }
  /** The cluster's events as stored: each event's id and count, sorted; the same id twice would show. */
  const stored = async (replica: Replica) =>
    (await allEvents(replica, `mesh=${CLUSTER}`)).map((item) => `${item.id} ${item.count}`).sort()
  const produced = (objects: Iterable<KubeObject>) =>
    [...objects].map((object) => `kubernetes:${object.metadata.uid} ${object.count as number}`).sort()
  const meshStatus = async (replica: Replica, name: string) =>
    (await getJson<{ items: Mesh[] }>(replica, '/api/v1/meshes')).items.find((mesh) => mesh.name === name)

  beforeAll(async () => {
    zookeeper = await startZooKeeper()
    writer = await connectWriter(zookeeper.connectString)
    api = await startKubernetesApiServer()
    kubeconfig = writeKubeconfig({ server: api.url, token: api.token, cluster: CLUSTER })
    await sql.connect()
  }, 60_000)
  afterAll(async () => {
    cluster.kill()
    writer?.close()
    await zookeeper?.close()
    await api?.close()
    kubeconfig?.cleanup()
    await sql.end()
    await dropSchema(schema)
  })

  it('kill -9 of the leader while the registry and the cluster change: another takes over within 30 s, every change recorded once', async () => {
    const first = await startReplica()
    await eventually(async () => expect(await isLeader(first)).toBe(true), 20_000)
    const second = await startReplica()
    expect(await isLeader(second)).toBe(false)

    // Phase 1, the first replica leads: ten providers register, ten Kubernetes events happen.
    const k8s = new Map<string, KubeObject>()
    const happen = (n: number) => k8s.set(`k-${n}`, api.add('events', makeEvent({ name: `k-${n}`, pod: `pod-${n % 4}`, reason: 'Started' })))
    /** One more occurrence of an earlier event (a count bump, MODIFIED): lost, its count would stay behind. */
    const recur = (n: number) => {
      const before = k8s.get(`k-${n}`)!
      k8s.set(`k-${n}`, api.modify('events', { ...before, count: (before.count as number) + 1, lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }))
    }
    for (let n = 1; n <= 10; n++) {
      await writer.create(provider(n))
      happen(n)
    }
    await eventually(async () => expect((await events(second)).filter((item) => item.reason === 'ProviderRegistered')).toHaveLength(10), 30_000)
    await eventually(async () => expect(await stored(second)).toEqual(produced(k8s.values())), 30_000)

    // Phase 2: providers keep coming and going, the cluster keeps producing; the leader dies in the middle of it.
    const expected: Record<string, number> = { RegistrySynced: 1 }
    for (let n = 1; n <= 30; n++) expected[`ProviderRegistered 10.9.0.${n}:20880`] = 1
    for (let n = 1; n <= 5; n++) expected[`ProviderUnregistered 10.9.0.${n}:20880`] = 1
    let killedAt = 0
    let checkpoint: string | undefined
    for (let n = 11; n <= 30; n++) {
      await writer.create(provider(n))
      if (n <= 15) await writer.remove(provider(n - 10))
      happen(n)
      if (n % 3 === 0) recur(n - 7)
      if (n === 18) {
        first.child.kill('SIGKILL')
        killedAt = performance.now()
        api.clearRequests()
      }
      // Well before the lease expires, nobody writes: what the dead leader committed last.
      if (n === 22) checkpoint = (await sql.query<{ value: string }>(`SELECT value FROM ${schema}.checkpoints WHERE key = $1`, [`${CLUSTER}:events-rv`])).rows[0]?.value
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const tookOverMs = await eventually(async () => {
      expect(await isLeader(second)).toBe(true)
      return performance.now() - killedAt
    }, 30_000)
    expect(tookOverMs).toBeLessThan(30_000)
    await eventually(async () => expect(tally(await events(second))).toEqual(expected), 30_000)
    await eventually(async () => expect(await stored(second)).toEqual(produced(k8s.values())), 30_000)
    // The new leader's events watch resumed from the dead leader's stored resourceVersion: no re-list.
    expect(checkpoint).toBeDefined()
    const eventRequests = api.requests.filter((request) => request.path === '/api/v1/events')
    expect(eventRequests[0]).toMatchObject({ watch: true, query: { resourceVersion: checkpoint } })
    expect(eventRequests.filter((request) => !request.watch)).toEqual([])
    // Nothing more arrives later (a late duplicate would show here), and the second one's view is the stored one.
    await writer.create(provider(31))
    expected['ProviderRegistered 10.9.0.31:20880'] = 1
    happen(31)
    recur(30)
    await eventually(async () => expect(tally(await events(second))).toEqual(expected), 30_000)
    await eventually(async () => expect(await stored(second)).toEqual(produced(k8s.values())), 30_000)
    // The new term's sources report their own states.
    await eventually(async () => {
      const mesh = await meshStatus(second, CLUSTER)
      expect(mesh).toMatchObject({ status: 'connected' })
      expect(mesh?.error).toBeUndefined()
    }, 30_000)
    console.info(`[failover] takeover ${Math.round(tookOverMs)} ms after kill -9 (lease ${LEASE.leaseMs} ms)`)
  }, 180_000)

  it('a SIGSTOPped leader that resumes after its lease expired does not lead and writes nothing', async () => {
    const leader = cluster.running()[0]!
    // On a loaded machine it may be between a missed renewal and taking the lease again.
    await eventually(async () => expect(await isLeader(leader)).toBe(true), 20_000)
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
