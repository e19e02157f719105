/**
 * docker-compose.yml and the Dockerfile reference real things: files that exist in the repo,
 * configuration the server understands (CONTRACT section 1), and a port and health endpoint that
 * line up. No Docker is needed: both files are read as text.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadFileConfig } from '../apps/server/src/rules/fileConfig.ts'
import { CONTRACT_VARIABLES } from './contractVariables.ts'

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml')

const DEFAULT_PORT = 8080
const HEALTH_PATHS = ['/readyz', '/healthz']

interface ComposeService {
  build?: string | { context?: string; dockerfile?: string }
  image?: string
  ports?: Array<string | number | { target?: number | string; published?: number | string }>
  environment?: Record<string, string | number | boolean | null> | string[]
  volumes?: Array<string | { type?: string; source?: string; target?: string }>
  healthcheck?: { test?: string | string[]; disable?: boolean }
  depends_on?: Record<string, { condition?: string }>
  deploy?: { replicas?: number }
}

interface ComposeFile {
  services: Record<string, ComposeService>
  volumes?: Record<string, unknown>
}

const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as ComposeFile
const eventline = compose.services.eventline!
const buildContext = resolve(REPO_ROOT, typeof eventline.build === 'string' ? eventline.build : (eventline.build?.context ?? '.'))
const dockerfilePath = join(buildContext, typeof eventline.build === 'object' ? (eventline.build.dockerfile ?? 'Dockerfile') : 'Dockerfile')
const dockerfile = existsSync(dockerfilePath) ? parseDockerfile(readFileSync(dockerfilePath, 'utf8')) : []
const environment = environmentOf(eventline)

describe('docker-compose.yml', () => {
  it('builds the eventline service from a context and Dockerfile that exist', () => {
    expect(eventline.build, 'the eventline service is built from this repo').toBeDefined()
    expect(statSync(buildContext).isDirectory()).toBe(true)
    expect(existsSync(dockerfilePath), `${relative(REPO_ROOT, dockerfilePath)} exists`).toBe(true)
  })

  it('sets only the EVENTLINE_* variables the contract defines', () => {
    const used = Object.keys(environment).filter((name) => name.startsWith('EVENTLINE_'))
    expect(used.length).toBeGreaterThan(0)
    expect(used.filter((name) => !CONTRACT_VARIABLES.includes(name))).toEqual([])
  })

  it('binds all interfaces inside the container', () => {
    expect(environment.EVENTLINE_HOST).toBe('0.0.0.0')
  })

  it('publishes the port the server listens on', () => {
    const port = Number(environment.EVENTLINE_PORT ?? DEFAULT_PORT)
    const targets = (eventline.ports ?? []).map(containerPort)
    expect(targets).toContain(port)
  })

  it('stores in the postgres service of this file, started and healthy before Eventline', () => {
    const db = new URL(String(environment.EVENTLINE_DB))
    expect(db.protocol).toMatch(/^postgres(ql)?:$/)
    const postgres = compose.services[db.hostname]
    expect(postgres, `${db.hostname} is a service of this file`).toBeDefined()
    expect(postgres!.image).toMatch(/^postgres:/)
    const postgresEnv = environmentOf(postgres!)
    expect(decodeURIComponent(db.username)).toBe(postgresEnv.POSTGRES_USER)
    expect(decodeURIComponent(db.password)).toBe(postgresEnv.POSTGRES_PASSWORD)
    expect(db.pathname.slice(1)).toBe(postgresEnv.POSTGRES_DB)
    expect(postgres!.healthcheck?.test, 'the postgres service has a health check').toBeDefined()
    expect(eventline.depends_on?.[db.hostname]).toEqual({ condition: 'service_healthy' })
  })

  it('keeps a named volume for the SQLite alternative', () => {
    const mount = (eventline.volumes ?? []).map(volumeMount).find(({ target }) => target === '/data')
    expect(mount, 'a volume is mounted at /data').toBeDefined()
    expect(Object.keys(compose.volumes ?? {})).toContain(mount!.source)
  })

  it('points EVENTLINE_REGISTRIES at services this file defines', () => {
    const registries = String(environment.EVENTLINE_REGISTRIES ?? '')
      .split(/[;\s]+/)
      .filter(Boolean)
    expect(registries.length).toBeGreaterThan(0)
    for (const registry of registries) {
      const url = new URL(registry)
      expect(['zookeeper:', 'nacos:']).toContain(url.protocol)
      for (const address of url.host.split(',')) {
        const host = address.split(':')[0]!
        expect(Object.keys(compose.services), `${registry} names a service`).toContain(host)
      }
    }
  })

  it('mounts an EVENTLINE_CONFIG file from the repo that validates and forwards to services this file defines', () => {
    const path = String(environment.EVENTLINE_CONFIG)
    const mount = (eventline.volumes ?? []).map(volumeMount).find(({ target }) => target === path)
    expect(mount?.source, `a file from the repo is mounted at ${path}`).toMatch(/^\.\//)
    const file = loadFileConfig(join(REPO_ROOT, mount!.source!), {})
    expect(file.sinks.length).toBeGreaterThan(0)
    for (const sink of file.sinks) {
      const hosts = sink.type === 'nats' ? sink.servers.map((server) => new URL(server).hostname) : [new URL(sink.url).hostname]
      for (const host of hosts) expect(Object.keys(compose.services), `sink ${sink.name} names a service`).toContain(host)
    }
  })

  it('checks health on /readyz or /healthz at the server port', () => {
    const test = healthcheckCommand(eventline.healthcheck?.test)
    const port = String(environment.EVENTLINE_PORT ?? DEFAULT_PORT)
    expect(HEALTH_PATHS.some((path) => test.includes(`:${port}${path}`)), test).toBe(true)
  })

  it('runs two replicas behind one published port (the lb service proxies to the eventline service)', () => {
    expect(eventline.deploy?.replicas).toBeGreaterThanOrEqual(2)
    // Replicas cannot share a fixed host port: the eventline service publishes none.
    for (const entry of eventline.ports ?? []) expect(String(entry)).toMatch(/^(127\.0\.0\.1::)?\d+$/)
    const lb = compose.services.lb!
    expect((lb.ports ?? []).map(String)).toContain(`${DEFAULT_PORT}:${DEFAULT_PORT}`)
    expect(lb.depends_on?.eventline).toEqual({ condition: 'service_healthy' })
    const mount = (lb.volumes ?? []).map(volumeMount).find(({ target }) => target?.startsWith('/etc/nginx/'))
    const conf = readFileSync(join(REPO_ROOT, mount!.source!), 'utf8')
    expect(conf).toContain(`http://eventline:${environment.EVENTLINE_PORT ?? DEFAULT_PORT}`)
    expect(conf).toMatch(/proxy_buffering off/)
  })

  it('runs the ZooKeeper 3.9, PostgreSQL 16 and NATS JetStream services', () => {
    expect(compose.services.zookeeper?.image).toMatch(/^zookeeper:3\.9\b/)
    expect(compose.services.postgres?.image).toMatch(/^postgres:16\b/)
    expect(compose.services.nats?.image).toMatch(/^nats:/)
    expect(JSON.stringify(compose.services.nats)).toContain('-js')
  })
})

describe('Dockerfile', () => {
  const stages = dockerfile.filter((line) => line.instruction === 'FROM')
  const stageNames = stages.map(({ args }) => /\bAS\s+(\S+)/i.exec(args)?.[1]).filter((name) => name !== undefined)

  it('builds in more than one stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
  })

  it('runs as a non-root user', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf(stages.at(-1)!))
    const user = runtime.filter((line) => line.instruction === 'USER').at(-1)
    expect(user, 'the final stage sets USER').toBeDefined()
    expect(user!.args.split(':')[0]).not.toMatch(/^(root|0)$/)
  })

  it('copies only paths that exist in the build context and are not ignored', () => {
    const ignored = dockerignoreMatcher(join(buildContext, '.dockerignore'))
    const copies = dockerfile.filter((line) => line.instruction === 'COPY' || line.instruction === 'ADD')
    expect(copies.length).toBeGreaterThan(0)
    for (const copy of copies) {
      const { from, sources } = copyArguments(copy.args)
      if (from !== undefined) {
        expect(stageNames, `COPY --from=${from} names an earlier stage`).toContain(from)
        continue
      }
      for (const source of sources) {
        expect(matchesInContext(buildContext, source), `COPY source ${source} exists`).toBe(true)
        if (source !== '.') expect(ignored(source), `COPY source ${source} is not in .dockerignore`).toBe(false)
      }
    }
  })

  it('keeps the host install out of the build context', () => {
    const ignored = dockerignoreMatcher(join(buildContext, '.dockerignore'))
    expect(ignored('node_modules')).toBe(true)
    expect(ignored('apps/server/node_modules')).toBe(true)
  })

  it('exposes the server port and checks health on /readyz or /healthz', () => {
    const exposed = dockerfile.filter((line) => line.instruction === 'EXPOSE').flatMap(({ args }) => args.split(/\s+/))
    expect(exposed.map((port) => Number.parseInt(port, 10))).toContain(Number(environment.EVENTLINE_PORT ?? DEFAULT_PORT))
    const healthcheck = dockerfile.find((line) => line.instruction === 'HEALTHCHECK')
    expect(healthcheck, 'the image has a HEALTHCHECK').toBeDefined()
    expect(HEALTH_PATHS.some((path) => healthcheck!.args.includes(path))).toBe(true)
  })

  it('starts the built server, where it finds the SPA beside it', () => {
    const cmd = dockerfile.filter((line) => line.instruction === 'CMD').at(-1)
    expect(cmd?.args).toContain('apps/server/dist/main.js')
    const copied = dockerfile.filter((line) => line.instruction === 'COPY').map(({ args }) => args)
    expect(copied.some((args) => /\bapps\/web\/dist\s*$/.test(args)), 'apps/web/dist is copied to apps/web/dist').toBe(true)
  })
})

interface DockerfileLine {
  instruction: string
  args: string
}

/** Instructions of a Dockerfile with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): DockerfileLine[] {
  const lines: DockerfileLine[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('#') || (line === '' && pending === '')) continue
    pending += pending ? ` ${line}` : line
    if (pending.endsWith('\\')) {
      pending = pending.slice(0, -1).trimEnd()
      continue
    }
    const match = /^(\S+)\s*(.*)$/.exec(pending)
    if (match) lines.push({ instruction: match[1]!.toUpperCase(), args: match[2]! })
    pending = ''
  }
  return lines
}

/** `COPY [--flag=...] src... dest` (or its JSON form) as its `--from` stage and source paths. */
function copyArguments(args: string): { from?: string; sources: string[] } {
  const words = args.split(/\s+/)
  const flags = words.filter((word) => word.startsWith('--'))
  const rest = words.filter((word) => !word.startsWith('--')).join(' ')
  const paths: string[] = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/)
  const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length)
  return { from, sources: paths.slice(0, -1) }
}

/** Whether `source` (which may hold `*` wildcards) names at least one file or folder in `context`. */
function matchesInContext(context: string, source: string): boolean {
  const parts = source.replace(/^\.\//, '').split('/').filter(Boolean)
  let candidates = [context]
  for (const part of parts) {
    if (!part.includes('*')) {
      candidates = candidates.map((dir) => join(dir, part)).filter((path) => existsSync(path))
      continue
    }
    const pattern = new RegExp(`^${part.split('*').map(escapeRegExp).join('[^/]*')}$`)
    candidates = candidates.flatMap((dir) =>
      statSync(dir).isDirectory() ? readdirSync(dir).filter((name) => pattern.test(name)).map((name) => join(dir, name)) : [],
    )
  }
  return candidates.length > 0
}

/**
 * A small `.dockerignore` matcher: `*`, `**` and leading `!` exceptions, a pattern also covering
 * everything below a folder it matches. Enough for the patterns this repo uses.
 */
function dockerignoreMatcher(file: string): (path: string) => boolean {
  const rules = (existsSync(file) ? readFileSync(file, 'utf8') : '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!')
      const pattern = (negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, '')
      const body = pattern
        .split('/')
        .map((part) => (part === '**' ? '(?:.*)' : part.split('*').map(escapeRegExp).join('[^/]*')))
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?')
      return { negated, regex: new RegExp(`^${body}(?:/.*)?$`) }
    })
  return (path) => {
    const normalised = path.replace(/^\.\//, '').replace(/\/+$/, '')
    let ignored = false
    for (const rule of rules) if (rule.regex.test(normalised)) ignored = !rule.negated
    return ignored
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
}

/** Compose `environment` in either form (map or `KEY=value` list) as a map. */
function environmentOf(service: ComposeService): Record<string, string | undefined> {
  const env = service.environment ?? {}
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0]!, entry.includes('=') ? entry.slice(entry.indexOf('=') + 1) : undefined]))
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? undefined : String(value)]))
}

/** The container side of a `ports` entry: `"8080:8080"`, `"127.0.0.1:80:8080/tcp"`, `8080` or the long form. */
function containerPort(entry: NonNullable<ComposeService['ports']>[number]): number {
  if (typeof entry === 'object') return Number(entry.target)
  return Number(String(entry).split('/')[0]!.split(':').at(-1))
}

/** A `volumes` entry as `{ source, target }`, in the short (`name:/path[:ro]`) or long form. */
function volumeMount(entry: NonNullable<ComposeService['volumes']>[number]): { source?: string; target?: string } {
  if (typeof entry === 'object') return { source: entry.source, target: entry.target }
  const [source, target] = entry.split(':')
  return target === undefined ? { target: source } : { source, target }
}

function healthcheckCommand(test: string | string[] | undefined): string {
  return Array.isArray(test) ? test.join(' ') : (test ?? '')
}
