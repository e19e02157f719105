/**
 * A real ZooKeeper for integration tests and the benchmark: Debian's `zookeeper` package, started
 * directly with java (not `zkServer.sh`, which insists on `/etc/zookeeper` and `/var/log`) on a
 * free port with a temp `zoo.cfg` and data dir. It can be stopped and started again on the same
 * port and data dir (a server restart keeps znodes and sessions), and a TCP proxy in front of it
 * cuts one client off while the others stay connected (how a test expires a session for real).
 * Also a small promise-based writer that writes znodes the way Dubbo does.
 *
 * Clients reach the server through a gate (a TCP proxy) that lets connections through only
 * once the server serves. ZooKeeper binds its port before it serves, and a connection that
 * arrives in between can be dropped without being closed; node-zookeeper-client then waits a
 * whole session timeout before it tries again, long enough for its session to expire. Production
 * recovers from that (a new session and a diff); a restart test wants the same outcome every run.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import zookeeper from 'node-zookeeper-client'
import type { Client } from 'node-zookeeper-client'

const JAVA = '/usr/bin/java'
const CONF_DIR = '/etc/zookeeper/conf'
/** The package's jar names every dependency in its manifest `Class-Path`, so it is the whole classpath. */
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar'
/** A logging backend (the jar names only slf4j's API): the server's log then ends up in a start failure's message. */
const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar'
const MAIN_CLASS = 'org.apache.zookeeper.server.ZooKeeperServerMain'
/** Short ticks so tests can ask for short sessions (the server allows 2 to 20 ticks by default). */
const TICK_MS = 200

export interface ZooKeeperLookup {
  found: boolean
  /** Why it cannot be used, and how to fix that; set when `found` is false. */
  problem?: string
}

/** Whether java and the Debian ZooKeeper jar are installed. */
export function findZooKeeper(): ZooKeeperLookup {
  for (const [path, mode] of [
    [JAVA, constants.X_OK],
    [ZOOKEEPER_JAR, constants.R_OK],
  ] as const) {
    try {
      accessSync(path, mode)
    } catch {
      return { found: false, problem: `${path} is missing: install ZooKeeper and Java 17 (apt-get install zookeeper openjdk-17-jre-headless)` }
    }
  }
  return { found: true }
}

/**
 * Whether ZooKeeper tests should be skipped: only locally, when it is not installed. On CI
 * (`CI=true`) a missing ZooKeeper must fail the run, never pass it quietly, so this is false there
 * and `startZooKeeper` throws.
 */
export function skipWithoutZooKeeper(): boolean {
  const lookup = findZooKeeper()
  if (lookup.found || process.env.CI === 'true') return false
  console.warn(`[zookeeper] tests skipped: ${lookup.problem}`)
  return true
}

export interface ZooKeeperServer {
  /** The port clients connect to (the gate's; it stays the same across restarts). */
  port: number
  /** `127.0.0.1:<port>`, the connection string of the server. */
  connectString: string
  /** The server's own port, behind the gate: for a benchmark that never restarts it and wants no extra hop. */
  serverPort: number
  dataDir: string
  /** Stops the server process, keeping the data dir (znodes and sessions survive). */
  stop(): Promise<void>
  /** Starts it again on the same port and data dir. */
  start(): Promise<void>
  /** A four-letter word (`srvr`, `mntr`, `dump`, `ruok`) sent to the server itself, and its answer. */
  command(word: string): Promise<string>
  /** Stops the server and removes its files. */
  close(): Promise<void>
}

/** Starts a standalone ZooKeeper on a free port; resolves once it answers `ruok`. */
export async function startZooKeeper(): Promise<ZooKeeperServer> {
  const lookup = findZooKeeper()
  if (!lookup.found) throw new Error(`cannot start ZooKeeper: ${lookup.problem}`)
  const dir = mkdtempSync(join(tmpdir(), 'eventline-zookeeper-'))
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir)
  const port = await freePort()
  const gate = await startTcpProxy(port)
  gate.pause()
  const config = join(dir, 'zoo.cfg')
  writeFileSync(
    config,
    [
      `tickTime=${TICK_MS}`,
      `dataDir=${dataDir}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      // The admin server would take port 8080; tests and other servers need it free.
      'admin.enableServer=false',
      `minSessionTimeout=${2 * TICK_MS}`,
      'maxSessionTimeout=60000',
      'maxClientCnxns=0',
      '4lw.commands.whitelist=ruok,srvr,stat,mntr,dump,cons',
      '',
    ].join('\n'),
  )
  let child: ChildProcess | undefined
  let output = ''
  const command = (word: string) => fourLetterWord(port, word)

  const start = async () => {
    if (child) return
    output = ''
    const started = spawn(JAVA, ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Dzookeeper.jmx.log4j.disable=true', '-cp', `${CONF_DIR}:${ZOOKEEPER_JAR}:${SLF4J_SIMPLE_JAR}`, MAIN_CLASS, config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = started
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000))
    started.stdout!.on('data', keep)
    started.stderr!.on('data', keep)
    const exited = new Promise<never>((_, reject) => started.once('exit', (code) => reject(new Error(`ZooKeeper exited with ${code} before it answered:\n${output}`))))
    const deadline = Date.now() + 30_000
    for (;;) {
      // `ruok` answers before the server serves; `srvr` says "not currently serving" until it does.
      const ok = await Promise.race([command('srvr').then((answer) => answer.startsWith('Zookeeper version'), () => false), exited])
      if (ok) {
        gate.resume()
        return
      }
      if (Date.now() > deadline) {
        await stop()
        throw new Error(`ZooKeeper did not answer on port ${port} within 30 s:\n${output}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const stop = async () => {
    gate.pause()
    const running = child
    if (!running) return
    child = undefined
    if (running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()))
    running.kill('SIGKILL')
    await exited
  }
  try {
    await start()
  } catch (error) {
    await gate.close()
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return {
    port: gate.port,
    connectString: `127.0.0.1:${gate.port}`,
    serverPort: port,
    dataDir,
    stop,
    start,
    command,
    close: async () => {
      await stop()
      await gate.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Sends a four-letter word and resolves with the whole answer (the server closes after it). */
export function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.end(word))
    let answer = ''
    socket.setTimeout(2_000, () => socket.destroy(new Error(`no answer to ${word}`)))
    socket.on('data', (chunk) => (answer += chunk.toString()))
    socket.on('end', () => resolve(answer))
    socket.on('error', reject)
  })
}

/** Packets the server has received since it started (`srvr`): how many requests clients made. */
export async function receivedPackets(server: ZooKeeperServer): Promise<number> {
  const match = /^Received: (\d+)$/m.exec(await server.command('srvr'))
  if (!match) throw new Error('srvr gave no Received line')
  return Number(match[1])
}

/** Global sessions the server holds (`mntr`), to see one expire. */
export async function sessionCount(server: ZooKeeperServer): Promise<number> {
  const match = /^zk_global_sessions\s+(\d+)$/m.exec(await server.command('mntr'))
  if (!match) throw new Error('mntr gave no zk_global_sessions line')
  return Number(match[1])
}

export interface TcpProxy {
  port: number
  /** Cuts every connection and refuses new ones (they are accepted and closed at once). */
  pause(): void
  /**
   * Holds what clients send without cutting them: their requests stay unanswered (in flight)
   * while the server's replies and watch notifications still reach them. `pause` then cuts
   * connections with requests outstanding; `resume` lets the held bytes through.
   */
  stall(): void
  /** Lets clients through again: new connections, and what stalled ones held. */
  resume(): void
  close(): Promise<void>
}

/** A TCP proxy to `127.0.0.1:targetPort`: clients behind it can be cut off from a running server. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  /** Each client socket and its upstream, to stall and release what the client sends. */
  const pairs = new Map<Socket, Socket>()
  let paused = false
  let stalled = false
  const server: Server = createServer((client) => {
    if (paused) {
      client.destroy()
      return
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort })
    sockets.add(client).add(upstream)
    pairs.set(client, upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
      pairs.delete(client)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    if (!stalled) client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const cut = () => {
    for (const socket of sockets) socket.destroy()
    sockets.clear()
    pairs.clear()
  }
  return {
    port: (server.address() as AddressInfo).port,
    pause: () => {
      paused = true
      cut()
    },
    stall: () => {
      stalled = true
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream)
        client.pause()
      }
    },
    resume: () => {
      paused = false
      if (!stalled) return
      stalled = false
      for (const [client, upstream] of pairs) client.pipe(upstream)
    },
    close: () => {
      cut()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** A ZooKeeper client with promises, writing znodes as Dubbo does (persistent parents, ephemeral leaves). */
export interface ZkWriter {
  client: Client
  /** Creates `path` and any missing parents (persistent); the leaf is ephemeral unless `persistent`. */
  create(path: string, data?: string, options?: { persistent?: boolean }): Promise<void>
  /** Creates many nodes without waiting for each reply: a burst, as many providers starting at once. */
  createMany(nodes: ReadonlyArray<{ path: string; data?: string }>, options?: { persistent?: boolean }): Promise<void>
  setData(path: string, data: string): Promise<void>
  remove(path: string): Promise<void>
  exists(path: string): Promise<boolean>
  /** Deletes `path` and everything below it; a missing node is fine. */
  removeTree(path: string): Promise<void>
  close(): void
}

/** Connects a writer; `sessionTimeout` matters when a test lets the writer's session expire. */
export async function connectWriter(connectString: string, options: { sessionTimeout?: number; auth?: string } = {}): Promise<ZkWriter> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: options.sessionTimeout ?? 30_000, spinDelay: 100 })
  if (options.auth) client.addAuthInfo('digest', Buffer.from(options.auth))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer could not connect to ${connectString}`)), 20_000)
    client.once('connected', () => {
      clearTimeout(timer)
      resolve()
    })
    client.connect()
  })
  const call = <T>(run: (done: (error: unknown, value?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => run((error, value) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(value as T))))
  const parentsMade = new Set<string>()
  const mkParents = async (path: string) => {
    const parent = path.slice(0, path.lastIndexOf('/'))
    if (parent === '' || parentsMade.has(parent)) return
    await call<string>((done) => client.mkdirp(parent, done))
    parentsMade.add(parent)
  }
  const create = async (path: string, data?: string, createOptions: { persistent?: boolean } = {}) => {
    await mkParents(path)
    const mode = createOptions.persistent ? zookeeper.CreateMode.PERSISTENT : zookeeper.CreateMode.EPHEMERAL
    await call<string>((done) => client.create(path, data === undefined ? Buffer.alloc(0) : Buffer.from(data), mode, done))
  }
  return {
    client,
    create,
    createMany: async (nodes, createOptions = {}) => {
      for (const parent of new Set(nodes.map((node) => node.path.slice(0, node.path.lastIndexOf('/'))))) await mkParents(`${parent}/x`)
      await Promise.all(nodes.map((node) => create(node.path, node.data, createOptions)))
    },
    setData: async (path, data) => {
      await call((done) => client.setData(path, Buffer.from(data), done))
    },
    remove: async (path) => {
      await call<void>((done) => client.remove(path, done))
    },
    exists: async (path) => Boolean(await call<unknown>((done) => client.exists(path, (error, stat) => done(error, stat)))),
    removeTree: async (path) => {
      const removeTree = async (at: string): Promise<void> => {
        const children = await call<string[]>((done) => client.getChildren(at, (error, names) => done(error, names))).catch((error: unknown) => {
          if (String(error).includes('NO_NODE')) return undefined
          throw error
        })
        if (children === undefined) return
        await Promise.all(children.map((child) => removeTree(`${at}/${child}`)))
        await call<void>((done) => client.remove(at, done)).catch((error: unknown) => {
          if (!String(error).includes('NO_NODE')) throw error
        })
      }
      await removeTree(path)
      parentsMade.clear()
    },
    close: () => client.close(),
  }
}

/** A provider or consumer URL as Dubbo writes it, for tests and the benchmark. */
export function dubboUrl(options: {
  side?: 'provider' | 'consumer'
  ip: string
  port?: number
  service: string
  application: string
  version?: string
  group?: string
  methods?: string[]
  timestamp?: number
}): string {
  const side = options.side ?? 'provider'
  const params = new URLSearchParams()
  if (side === 'provider') params.set('anyhost', 'true')
  params.set('application', options.application)
  if (side === 'consumer') params.set('category', 'consumers')
  params.set('dubbo', '2.0.2')
  if (options.group) params.set('group', options.group)
  params.set('interface', options.service)
  params.set('methods', (options.methods ?? ['sayHello', 'sayHelloAsync']).join(','))
  params.set('pid', '4242')
  params.set('side', side)
  params.set('timestamp', String(options.timestamp ?? 1_700_000_000_000))
  if (options.version) params.set('version', options.version)
  const authority = side === 'provider' ? `${options.ip}:${options.port ?? 20880}` : options.ip
  // Dubbo joins parameters unescaped (commas stay commas); URLSearchParams would escape them.
  const query = [...params].map(([key, value]) => `${key}=${value}`).join('&')
  return `${side === 'provider' ? 'dubbo' : 'consumer'}://${authority}/${options.service}?${query}`
}

/** The znode of a provider or consumer URL under `/{root}/{interface}/providers|consumers`. */
export function dubboUrlPath(url: string, options: { root?: string; service: string; side?: 'provider' | 'consumer' }): string {
  return `/${options.root ?? 'dubbo'}/${options.service}/${options.side === 'consumer' ? 'consumers' : 'providers'}/${encodeURIComponent(url)}`
}

/** A Dubbo 3 ServiceInstance as it is stored under `/services/{app}/{ip:port}`. */
export function serviceInstanceJson(options: { application: string; ip: string; port: number; revision: string; metadata?: Record<string, string> }): string {
  return JSON.stringify({
    name: options.application,
    id: `${options.ip}:${options.port}`,
    address: options.ip,
    port: options.port,
    sslPort: null,
    payload: {
      '@class': 'org.apache.dubbo.registry.zookeeper.ZookeeperInstance',
      id: `${options.ip}:${options.port}`,
      name: options.application,
      metadata: {
        'dubbo.endpoints': JSON.stringify([{ port: options.port, protocol: 'dubbo' }]),
        'dubbo.metadata.revision': options.revision,
        'dubbo.metadata.storage-type': 'local',
        timestamp: '1700000000000',
        ...options.metadata,
      },
    },
    registrationTimeUTC: 1_700_000_000_000,
    serviceType: 'DYNAMIC',
    uriSpec: null,
  })
}
