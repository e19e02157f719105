/**
 * The one reader of `process.env` and argv: every setting of CONTRACT section 1 is parsed and
 * validated here, once. Invalid configuration throws a `ConfigError` naming the variable; `main.ts`
 * prints it as one line and exits with code 2.
 */
import { existsSync } from 'node:fs'
import { delimiter, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parseDuration } from '@eventline/shared'
import { ConfigError } from './configError.ts'
import { LOG_LEVELS } from './log.ts'
import type { LogLevel } from './log.ts'
import { loadFileConfig } from './rules/fileConfig.ts'
import type { FileConfig } from './rules/fileConfig.ts'

export { ConfigError } from './configError.ts'

/**
 * The Kubernetes source's configuration, resolved: `auto` becomes the first of `$KUBECONFIG`,
 * `~/.kube/config` and the in-cluster service account that exists, or `off` saying why.
 */
export type KubernetesSetting =
  | { mode: 'off'; reason: string }
  | { mode: 'kubeconfig'; path: string }
  | { mode: 'in-cluster' }

/** Where a pod's service account credentials are mounted. */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token'

export interface RegistryConfig {
  scheme: 'zookeeper' | 'nacos'
  /** Mesh name: `?name=`, default `<scheme>-<first host>`. */
  name: string
  /** `host:port` pairs, in the order given. */
  hosts: string[]
  /** Remaining query parameters (`root`, `namespace`, `group`, `username`, `password`, ...). */
  params: Record<string, string>
  /** The URL as given, with any password masked: safe to show in `/meshes` and logs. */
  address: string
}

export interface Config {
  port: number
  host: string
  /** SQLite file path or `:memory:`, or a `postgres://` (`postgresql://`) URL selecting PostgreSQL. */
  db: string
  kubernetes: KubernetesSetting
  cluster?: string
  /**
   * Kubeconfig contexts to watch (`--context`, `EVENTLINE_KUBE_CONTEXTS`), in the order given;
   * `['*']` means every context. Absent: the kubeconfig's current context.
   */
  kubeContexts?: string[]
  registries: RegistryConfig[]
  retentionMs: number
  /** Time budget of one store query; a query still running after it is cut off with a 503. */
  queryTimeoutMs: number
  token?: string
  demo: boolean
  logLevel: LogLevel
  /** `eventline.yaml` (sinks, routes, ingestion filter, alerts), validated; absent when there is none. */
  file?: FileConfig
  /** Directory of the built SPA; not a contract setting, derived from the install layout. */
  webDir?: string
}

interface Setting {
  variable: string
  flag: string
  /** What `--help` shows as the value (`<port>`); none for a switch. */
  value?: string
  /** The default as `--help` prints it. */
  default: string
  help: string
  repeatable?: boolean
  boolean?: boolean
}

/** Every setting of CONTRACT section 1, in `--help` order; parsing and `--help` both read this. */
const SETTINGS = {
  port: { variable: 'EVENTLINE_PORT', flag: 'port', value: '<port>', default: '8080', help: 'HTTP port (0: any free port)' },
  host: { variable: 'EVENTLINE_HOST', flag: 'host', value: '<address>', default: '127.0.0.1', help: 'bind address' },
  db: { variable: 'EVENTLINE_DB', flag: 'db', value: '<path>', default: './data/eventline.db', help: 'SQLite file (created with its folder), or :memory:' },
  kubernetes: {
    variable: 'EVENTLINE_KUBERNETES',
    flag: 'kubeconfig',
    value: '<auto|off|path>',
    default: 'auto',
    help: 'Kubernetes source: auto ($KUBECONFIG, ~/.kube/config, in-cluster), off, or a kubeconfig path',
  },
  cluster: { variable: 'EVENTLINE_CLUSTER', flag: 'cluster', value: '<name>', default: "the current context's cluster", help: 'mesh name of the Kubernetes source (one context only)' },
  kubeContexts: {
    variable: 'EVENTLINE_KUBE_CONTEXTS',
    flag: 'context',
    value: '<name>',
    default: "the kubeconfig's current context",
    help: 'kubeconfig context to watch, repeatable; the variable is comma-separated; * for all',
    repeatable: true,
  },
  registries: {
    variable: 'EVENTLINE_REGISTRIES',
    flag: 'registry',
    value: '<url>',
    default: 'none',
    help: 'registry URL, repeatable: zookeeper://h:2181[?name=..&root=..], nacos://h:8848[?name=..&namespace=..]; the variable separates them with ; or spaces',
    repeatable: true,
  },
  retention: { variable: 'EVENTLINE_RETENTION', flag: 'retention', value: '<duration>', default: '14d', help: 'purge events whose last occurrence is older (30m, 12h, 14d)' },
  queryTimeout: {
    variable: 'EVENTLINE_QUERY_TIMEOUT',
    flag: 'query-timeout',
    value: '<duration>',
    default: '10s',
    help: 'time budget of one store query (500ms, 10s, 1m); a query past it answers 503',
  },
  token: { variable: 'EVENTLINE_TOKEN', flag: 'token', value: '<token>', default: 'unset', help: 'bearer token required by /api; POST /api/v1/events is refused while unset' },
  demo: { variable: 'EVENTLINE_DEMO', flag: 'demo', default: '0', help: 'run the built-in simulator (mesh demo); the variable takes 1 or 0', boolean: true },
  logLevel: { variable: 'EVENTLINE_LOG_LEVEL', flag: 'log-level', value: '<level>', default: 'info', help: 'debug, info, warn or error (JSON lines on stdout)' },
  config: { variable: 'EVENTLINE_CONFIG', flag: 'config', value: '<path>', default: './eventline.yaml when it exists', help: 'rules, sinks and alerts (YAML)' },
} satisfies Record<string, Setting>
type SettingName = keyof typeof SETTINGS

const MESH_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/

/** The config file read when `EVENTLINE_CONFIG` is not set, if it exists (relative to `cwd`). */
export const DEFAULT_CONFIG_FILE = './eventline.yaml'

/**
 * Parses argv (without `node main.js`) and the environment into a validated `Config`, and loads the
 * config file (`EVENTLINE_CONFIG`, else `./eventline.yaml` when present). `cwd` resolves relative
 * paths of the config file.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string = process.cwd()): Config {
  const { flags } = parseCommandLine(argv)
  // A flag wins over its variable; a repeated flag (`--registry`) joins its values.
  const raw = (name: SettingName): string | undefined => {
    const fromFlag = flags.get(name)
    if (fromFlag !== undefined) return fromFlag.join(name === 'kubeContexts' ? ',' : ' ')
    const fromEnv = env[SETTINGS[name].variable]
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv
  }
  const label = (name: SettingName) => {
    const setting: Setting = SETTINGS[name]
    return flags.has(name) ? `--${setting.flag}` : setting.variable
  }

  const config: Config = {
    port: parsePort(raw('port') ?? '8080', label('port')),
    host: parseHost(raw('host') ?? '127.0.0.1', label('host')),
    db: parseDb(raw('db') ?? './data/eventline.db', label('db')),
    kubernetes: parseKubernetes(raw('kubernetes') ?? 'auto', label('kubernetes'), env),
    registries: parseRegistries(raw('registries') ?? '', label('registries')),
    retentionMs: parseRetention(raw('retention') ?? '14d', label('retention')),
    queryTimeoutMs: parseQueryTimeout(raw('queryTimeout') ?? '10s', label('queryTimeout')),
    demo: parseBoolean(raw('demo') ?? '0', label('demo')),
    logLevel: parseLogLevel(raw('logLevel') ?? 'info', label('logLevel')),
  }
  const cluster = raw('cluster')
  if (cluster !== undefined) config.cluster = parseMeshName(cluster, label('cluster'))
  const contexts = raw('kubeContexts')
  if (contexts !== undefined) config.kubeContexts = parseContexts(contexts, label('kubeContexts'))
  const token = raw('token')
  if (token !== undefined) config.token = parseToken(token, label('token'))
  const file = parseConfigFile(raw('config'), label('config'), env, cwd)
  if (file) config.file = file

  const meshNames = new Set<string>(cluster ? [cluster] : [])
  for (const registry of config.registries) {
    if (meshNames.has(registry.name)) throw new ConfigError(label('registries'), `mesh name "${registry.name}" is used twice; set ?name= to tell them apart`)
    meshNames.add(registry.name)
  }
  return config
}

/** What the command line asks for: `--help`, `--version`, or a start with these flag values. */
export interface CommandLine {
  help: boolean
  version: boolean
  flags: Map<SettingName, string[]>
}

/**
 * Parses argv with `node:util` `parseArgs` (strict: an unknown option, a missing value or a stray
 * argument is a `ConfigError` naming it). A `--` is skipped wherever it stands: `pnpm start -- --demo`
 * forwards it, and options come after it.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const names = Object.keys(SETTINGS) as SettingName[]
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' }, version: { type: 'boolean' } }
  for (const name of names) {
    const setting: Setting = SETTINGS[name]
    options[setting.flag] = setting.boolean ? { type: 'boolean' } : { type: 'string', ...(setting.repeatable ? { multiple: true } : {}) }
  }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args: argv.filter((arg) => arg !== '--'), options, strict: true, allowPositionals: false, tokens: true })
  } catch (error) {
    throw commandLineError(error)
  }
  const flags = new Map<SettingName, string[]>()
  for (const name of names) {
    const setting: Setting = SETTINGS[name]
    const given = (parsed.tokens ?? []).filter((token) => token.kind === 'option' && token.name === setting.flag)
    if (given.length === 0) continue
    if (given.length > 1 && !setting.repeatable) throw new ConfigError(`--${setting.flag}`, 'is given more than once')
    const value = parsed.values[setting.flag]
    flags.set(name, setting.boolean ? ['1'] : Array.isArray(value) ? value.map(String) : [String(value)])
  }
  return { help: parsed.values.help === true, version: parsed.values.version === true, flags }
}

/** `parseArgs`'s multi-sentence errors, as the contract's one line naming the option. */
function commandLineError(error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code
  const message = (error as Error).message
  const option = /'(--?[^' =]+)/.exec(message)?.[1] ?? 'arguments'
  const flags = ['help', 'version', ...Object.values(SETTINGS).map((setting) => setting.flag)].map((flag) => `--${flag}`).join(', ')
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new ConfigError(option, `unknown option; expected one of ${flags} (see --help)`)
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new ConfigError(/'([^']*)'/.exec(message)?.[1] ?? 'arguments', 'unexpected argument; options are --name value or --name=value (see --help)')
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return new ConfigError(option, /does not take an argument/.test(message) ? 'takes no value' : 'needs a value')
    default:
      return new ConfigError('arguments', message.split('\n')[0]!)
  }
}

/** `--help`: every flag with its variable and default. */
export function helpText(version: string): string {
  const rows = Object.values(SETTINGS).map((setting: Setting) => ({
    flag: `--${setting.flag}${setting.value ? ` ${setting.value}` : ''}`,
    text: `${setting.help}\n${setting.variable} (default: ${setting.default})`,
  }))
  rows.push({ flag: '--help', text: 'print this help and exit' }, { flag: '--version', text: 'print the version and exit' })
  const width = Math.max(...rows.map((row) => row.flag.length)) + 2
  const lines = rows.flatMap(({ flag, text }) => text.split('\n').map((line, index) => `  ${(index === 0 ? flag : '').padEnd(width)}${line}`))
  return [
    `eventline ${version}: Kubernetes and Dubbo registry events of a service mesh, on one timeline`,
    '',
    'Usage: eventline [options]      (from the repository: pnpm start -- [options])',
    '',
    'Each option can also be set by the environment variable shown under it; a flag wins over its variable.',
    '',
    ...lines,
    '',
  ].join('\n')
}

function parsePort(text: string, label: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN
  // Port 0 asks the OS for a free port (tests and ephemeral runs); the chosen one is logged.
  if (!(port >= 0 && port <= 65535)) throw new ConfigError(label, `must be a port number 0-65535, got "${text}"`)
  return port
}

function parseHost(text: string, label: string): string {
  const host = text.trim()
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) throw new ConfigError(label, `must be a host name or IP address, got "${text}"`)
  return host
}

function parseDb(text: string, label: string): string {
  if (/^postgres(ql)?:\/\//i.test(text)) return parsePostgresUrl(text, label)
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new ConfigError(label, `unsupported database URL "${text.split('://')[0]}://"; use a SQLite file path, :memory: or a postgres:// URL`)
  }
  return text
}

/** A PostgreSQL URL: `postgres://user[:password]@host[:port]/database[?sslmode=...]`. The password is never echoed. */
function parsePostgresUrl(text: string, label: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError(label, 'is not a valid PostgreSQL URL (expected postgres://user:password@host:5432/database)')
  }
  if (!url.hostname) throw new ConfigError(label, 'PostgreSQL URL names no host (expected postgres://user:password@host:5432/database)')
  if (url.port && !(Number(url.port) >= 1 && Number(url.port) <= 65535)) throw new ConfigError(label, `PostgreSQL URL port must be 1-65535, got "${url.port}"`)
  if (url.pathname.replace(/^\//, '') === '') throw new ConfigError(label, 'PostgreSQL URL names no database (expected postgres://user:password@host:5432/database)')
  const schema = url.searchParams.get('schema')
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new ConfigError(label, `PostgreSQL URL schema must be a lower-case identifier, got "${schema}"`)
  return text
}

function parseKubernetes(text: string, label: string, env: NodeJS.ProcessEnv): KubernetesSetting {
  if (text === 'off') return { mode: 'off', reason: `${label}=off` }
  if (text !== 'auto') {
    if (!existsSync(text)) throw new ConfigError(label, `kubeconfig "${text}" does not exist; use auto, off or a kubeconfig path`)
    return { mode: 'kubeconfig', path: text }
  }
  // $KUBECONFIG may list several files (kubectl merges them); the first that exists is used.
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).find((path) => path !== '' && existsSync(path))
  if (fromEnv) return { mode: 'kubeconfig', path: fromEnv }
  const home = env.HOME ? join(env.HOME, '.kube', 'config') : undefined
  if (home && existsSync(home)) return { mode: 'kubeconfig', path: home }
  if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) return { mode: 'in-cluster' }
  return { mode: 'off', reason: 'auto: no $KUBECONFIG, ~/.kube/config or in-cluster service account found' }
}

/**
 * An explicit path must exist; the default is read only when present, so a plain start needs no
 * file. The file is validated here, so a bad one stops start-up like any other bad setting.
 */
function parseConfigFile(text: string | undefined, label: string, env: NodeJS.ProcessEnv, cwd: string): FileConfig | undefined {
  if (text === undefined) {
    const path = resolve(cwd, DEFAULT_CONFIG_FILE)
    return existsSync(path) ? loadFileConfig(path, env, DEFAULT_CONFIG_FILE) : undefined
  }
  const path = resolve(cwd, text)
  if (!existsSync(path)) throw new ConfigError(label, `config file "${text}" does not exist`)
  return loadFileConfig(path, env, text)
}

function parseRetention(text: string, label: string): number {
  const ms = parseDuration(text)
  if (ms === undefined || ms < 60_000) throw new ConfigError(label, `must be a duration of at least 1m like 30m, 12h or 14d, got "${text}"`)
  return ms
}

/** `10s`, `1m`, or milliseconds (`500ms`: tests cut queries off quickly). */
function parseQueryTimeout(text: string, label: string): number {
  const match = /^(\d{1,9})(ms|s|m)$/.exec(text.trim())
  const ms = match ? Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'] : 0
  if (ms < 1 || ms > 3_600_000) throw new ConfigError(label, `must be a duration from 1ms to 60m like 10s, 500ms or 1m, got "${text}"`)
  return ms
}

function parseBoolean(text: string, label: string): boolean {
  if (['1', 'true', 'yes', 'on'].includes(text.toLowerCase())) return true
  if (['0', 'false', 'no', 'off'].includes(text.toLowerCase())) return false
  throw new ConfigError(label, `must be 1 or 0, got "${text}"`)
}

function parseLogLevel(text: string, label: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevel
  throw new ConfigError(label, `must be one of ${LOG_LEVELS.join(', ')}, got "${text}"`)
}

function parseMeshName(text: string, label: string): string {
  if (!MESH_NAME.test(text)) throw new ConfigError(label, `must be 1-63 letters, digits, ".", "_" or "-", got "${text}"`)
  return text
}

function parseToken(text: string, label: string): string {
  if (text.length < 8 || /\s/.test(text)) throw new ConfigError(label, 'must be at least 8 characters without spaces')
  return text
}

/** Kubeconfig context names, comma-separated (repeated flags are joined); `*` alone means all. */
function parseContexts(text: string, label: string): string[] {
  const names = [...new Set(text.split(',').map((name) => name.trim()).filter(Boolean))]
  if (names.length === 0) throw new ConfigError(label, 'must name at least one context, or * for all')
  if (names.includes('*') && names.length > 1) throw new ConfigError(label, '* (every context) cannot be combined with context names')
  // Control characters are exactly what this refuses (they break logs and terminals).
  // eslint-disable-next-line no-control-regex
  const bad = names.find((name) => name.length > 253 || /[\s\u0000-\u001f\u007f]/.test(name))
  if (bad !== undefined) throw new ConfigError(label, `"${bad}" is not a context name (no spaces or control characters, at most 253 characters)`)
  return names
}

/** Parses the `;`/whitespace separated list of Dubbo-style registry URLs. */
export function parseRegistries(text: string, label = SETTINGS.registries.variable): RegistryConfig[] {
  return text
    .split(/[;\s]+/)
    .filter(Boolean)
    .map((url) => parseRegistry(url, label))
}

function parseRegistry(url: string, label: string): RegistryConfig {
  const match = /^([a-z]+):\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(url)
  if (!match) throw new ConfigError(label, `"${mask(url)}" is not a registry URL like zookeeper://host:2181 or nacos://host:8848`)
  const [, scheme, hostList, , query] = match
  if (scheme !== 'zookeeper' && scheme !== 'nacos') throw new ConfigError(label, `unsupported registry scheme "${scheme}://"; expected zookeeper:// or nacos://`)
  const defaultPort = scheme === 'zookeeper' ? 2181 : 8848
  const hosts = hostList!.split(',').map((host) => {
    const hostMatch = HOST_PORT.exec(host)
    const port = hostMatch?.[1] === undefined ? defaultPort : Number(hostMatch[1])
    if (!hostMatch || port < 1 || port > 65535) throw new ConfigError(label, `"${host}" in ${mask(url)} is not host:port`)
    return hostMatch[1] === undefined ? `${host}:${port}` : host
  })
  const params: Record<string, string> = {}
  for (const [key, value] of new URLSearchParams(query ?? '')) params[key] = value
  const name = params.name ?? `${scheme}-${hosts[0]!.replace(/:\d+$/, '').replace(/[^A-Za-z0-9._-]/g, '-')}`
  delete params.name
  parseMeshName(name, `${label} (name of ${mask(url)})`)
  return { scheme, name, hosts, params, address: mask(url) }
}

/** Hides a `password=` parameter so the URL can be shown and logged. */
function mask(url: string): string {
  return url.replace(/([?&]password=)[^&#]*/g, '$1***')
}
