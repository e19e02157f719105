import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from './eventually.ts'
import { connectWriter, dubboUrl, dubboUrlPath, receivedPackets, skipWithoutZooKeeper, startTcpProxy, startZooKeeper } from './zookeeperServer.ts'
import type { ZooKeeperServer } from './zookeeperServer.ts'

describe.skipIf(skipWithoutZooKeeper())('test ZooKeeper server', () => {
  let zk: ZooKeeperServer

  beforeAll(async () => {
    zk = await startZooKeeper()
  })
  afterAll(async () => {
    await zk?.close()
  })

  it('keeps nodes and sessions across a restart on the same port and data dir', async () => {
    const writer = await connectWriter(zk.connectString, { sessionTimeout: 6_000 })
    await writer.create('/dubbo/config/dubbo/a.tag-router', 'enabled: true\n', { persistent: true })
    await writer.create('/dubbo/x.S/providers/ephemeral')
    await zk.stop()
    await expect(zk.command('ruok')).rejects.toThrow()
    await zk.start()
    // The session was restored with the server and the writer reconnects to it: its ephemeral node is still there.
    expect(await writer.exists('/dubbo/config/dubbo/a.tag-router')).toBe(true)
    expect(await writer.exists('/dubbo/x.S/providers/ephemeral')).toBe(true)
    expect(await receivedPackets(zk)).toBeGreaterThan(0)
    await writer.removeTree('/dubbo')
    expect(await writer.exists('/dubbo')).toBe(false)
    writer.close()
  })

  it('cuts the clients behind a paused proxy off, and lets them back once resumed', async () => {
    const proxy = await startTcpProxy(zk.port)
    const client = await connectWriter(`127.0.0.1:${proxy.port}`)
    const states: string[] = []
    client.client.on('state', (state) => states.push(state.name))
    proxy.pause()
    await eventually(() => expect(states).toContain('DISCONNECTED'))
    proxy.resume()
    await eventually(() => expect(states.at(-1)).toBe('SYNC_CONNECTED'), 10_000)
    expect(await client.exists('/')).toBe(true)
    client.close()
    await proxy.close()
  })

  it('writes provider URLs the way Dubbo names their nodes', () => {
    const url = dubboUrl({ ip: '10.0.0.7', service: 'org.x.S', application: 'demo', version: '1.0.0', timestamp: 1 })
    expect(url).toBe('dubbo://10.0.0.7:20880/org.x.S?anyhost=true&application=demo&dubbo=2.0.2&interface=org.x.S&methods=sayHello,sayHelloAsync&pid=4242&side=provider&timestamp=1&version=1.0.0')
    expect(dubboUrlPath(url, { service: 'org.x.S' })).toBe(`/dubbo/org.x.S/providers/${encodeURIComponent(url)}`)
  })
})
