/**
 * What users run, against the real ZooKeeper: a Node Dubbo client from npm registers, and the
 * source names what it wrote. sofa-rpc-node (the RPC layer of egg Dubbo / `egg-dubbo-rpc`) writes
 * provider URLs without a path (`bolt://ip:port?interface=...`), consumer URLs without a path or an
 * interface, and `appName=` instead of `application=`. Its consumer URL carries the host's first
 * non-loopback IP (its `address` module); the test reads it from the event, never connects to it:
 * the provider publishes 127.0.0.1 and the calls made go there. Each consumer application runs in
 * its own process, as on a real host: sofa-rpc-node shares one registry client per address within
 * a process, so two applications in one process would register one consumer.
 *
 * The other candidates were installed and read, not added: `dubbo2.js` / `apache-dubbo-js` (2.3.9 /
 * 3.0.0-rc6) and `node-zookeeper-dubbo` (3.0.15) register consumers only (`consumer://ip/iface?
 * application=...`, the shape the Java table tests cover) and pin node-zookeeper-client 0.2.x.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { EventItem, EventPage, Mesh, ServiceDetail } from '@eventline/shared'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { parseRegistries } from '../../config.ts'
import { eventually as poll } from '../../testing/eventually.ts'
import { startTestServer, tempDir } from '../../testing/testServer.ts'
import type { TestServer } from '../../testing/testServer.ts'
import { connectWriter, skipWithoutZooKeeper, startZooKeeper } from '../../testing/zookeeperServer.ts'
import type { ZooKeeperServer } from '../../testing/zookeeperServer.ts'

/** The parts of sofa-rpc-node 2.x the test uses (the package ships no types). */
interface Closable {
  close(): Promise<void> | void
}
interface SofaRpc {
  registry: { ZookeeperRegistry: new (options: { logger: unknown; address: string }) => Closable }
  server: {
    RpcServer: new (options: { logger: unknown; registry: unknown; port: number; publishAddress: string; appName: string }) => Closable & {
      addService(info: { interfaceName: string }, methods: Record<string, (...args: unknown[]) => Promise<unknown>>): void
      start(): Promise<void>
      publish(): Promise<void>
    }
  }
}

/**
 * A consumer application in its own process: it subscribes (which registers its consumer URL),
 * calls `echo` once, prints the answer, and closes its client when its stdin ends.
 */
const CONSUMER_PROCESS = `
const sofa = require('sofa-rpc-node')
const quiet = { info() {}, warn() {}, error() {}, debug() {} }
const [address, interfaceName, targetAppName] = process.argv.slice(1)
const registry = new sofa.registry.ZookeeperRegistry({ logger: quiet, address })
const client = new sofa.client.RpcClient({ logger: quiet, registry })
const consumer = client.createConsumer({ interfaceName, targetAppName })
consumer.ready().then(() => consumer.invoke('echo', ['hello from ' + targetAppName])).then((answer) => console.log(answer), (error) => console.log('failed: ' + error.message))
process.stdin.on('end', async () => { await client.close(); await registry.close(); process.exit(0) })
process.stdin.resume()
`

const sofa = createRequire(import.meta.url)('sofa-rpc-node') as SofaRpc
const MESH = 'zk-real'
const ECHO = 'com.example.EchoService'
const quiet = { info() {}, warn() {}, error() {}, debug() {} }
const eventually = <T>(check: () => Promise<T>) => poll(check, 15_000)

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe.skipIf(skipWithoutZooKeeper())('a real npm Dubbo client (sofa-rpc-node) against ZooKeeper', () => {
  let zk: ZooKeeperServer
  let tmp: ReturnType<typeof tempDir>
  let eventline: TestServer | undefined
  const closables: Closable[] = []
  const children: ChildProcess[] = []

  beforeAll(async () => {
    zk = await startZooKeeper()
  })
  afterAll(async () => {
    await zk?.close()
  })
  beforeEach(() => {
    tmp = tempDir()
  })
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill()
    for (const closable of closables.splice(0).reverse()) await closable.close()
    await eventline?.stop()
    eventline = undefined
    const writer = await connectWriter(zk.connectString)
    await writer.removeTree('/dubbo')
    writer.close()
    tmp.cleanup()
  })

  const events = async (query: string): Promise<EventItem[]> => (await eventline!.get<EventPage>(`/api/v1/events?mesh=${MESH}&limit=200${query}`)).body.items
  const service = async () => (await eventline!.get<ServiceDetail>(`/api/v1/services/${ECHO}?mesh=${MESH}`)).body

  it('records its provider and two consumer applications on one host, by application, address and interface', async () => {
    eventline = await startTestServer({ db: `${tmp.dir}/eventline.db`, registries: parseRegistries(`zookeeper://${zk.connectString}?name=${MESH}`), registryTuning: { zookeeper: { spinDelayMs: 50, retryMs: 200 } } })
    await eventually(async () => {
      const mesh = (await eventline!.get<{ items: Mesh[] }>('/api/v1/meshes')).body.items.find((item) => item.name === MESH)
      expect(mesh?.status).toBe('connected')
      expect((await events('')).map((item) => item.reason)).toEqual(['RegistrySynced'])
    })

    const address = `${zk.connectString}/dubbo`
    const providerRegistry = new sofa.registry.ZookeeperRegistry({ logger: quiet, address })
    closables.push(providerRegistry)
    const port = await freePort()
    const server = new sofa.server.RpcServer({ logger: quiet, registry: providerRegistry, port, publishAddress: '127.0.0.1', appName: 'sofa-provider' })
    server.addService({ interfaceName: ECHO }, { echo: async (text) => text })
    await server.start()
    await server.publish()
    closables.push(server)

    const consumerOf = async (application: string) => {
      const child = spawn(process.execPath, ['-e', CONSUMER_PROCESS, address, ECHO, application], { cwd: new URL('../../..', import.meta.url).pathname, stdio: ['pipe', 'pipe', 'inherit'] })
      children.push(child)
      const [answer] = (await once(child.stdout!, 'data')) as [Buffer]
      // The client works: it found the provider through ZooKeeper and called it.
      expect(answer.toString().trim()).toBe(`hello from ${application}`)
      return { close: async () => (child.stdin!.end(), await once(child, 'exit')) }
    }
    await consumerOf('cart-web')
    const job = await consumerOf('cart-job')

    const [registered] = await eventually(async () => {
      const items = await events('&reason=ProviderRegistered')
      expect(items).toHaveLength(1)
      return items
    })
    expect(registered).toMatchObject({ application: 'sofa-provider', instance: `127.0.0.1:${port}`, ip: '127.0.0.1', service: ECHO, message: `Provider registered: sofa-provider 127.0.0.1:${port} -> ${ECHO}` })
    // The provider subscribes to its own interface to check its publication: a third consumer URL,
    // from the provider's process, with `appName=` empty. Nothing names its application, so it keeps its IP as its name.
    const consumers = await eventually(async () => {
      const items = await events('&reason=ConsumerRegistered')
      expect(items).toHaveLength(3)
      return items
    })
    const host = consumers[0]!.ip!
    expect(consumers.map((item) => [item.application ?? '', item.instance, item.ip, item.service]).sort()).toEqual([
      ['', host, host, ECHO],
      ['cart-job', `cart-job@${host}`, host, ECHO],
      ['cart-web', `cart-web@${host}`, host, ECHO],
    ])
    expect(await service()).toMatchObject({ providers: 1, consumers: 3, applications: ['cart-job', 'cart-web', 'sofa-provider'] })

    // One consumer application stops; the other is still counted.
    await job.close()
    await eventually(async () => expect((await events('&reason=ConsumerUnregistered')).map((item) => item.instance)).toEqual([`cart-job@${host}`]))
    await eventually(async () => expect(await service()).toMatchObject({ providers: 1, consumers: 2 }))
    expect((await service()).consumerInstances.map((instance) => instance.name)).toEqual([host, `cart-web@${host}`])
    await server.close()
    await eventually(async () => expect((await events('&reason=ProviderUnregistered'))[0]).toMatchObject({ instance: `127.0.0.1:${port}`, application: 'sofa-provider' }))
  })
})
