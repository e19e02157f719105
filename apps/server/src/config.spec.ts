import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, helpText, loadConfig, parseCommandLine } from './config.ts'

const load = (argv: string[] = [], env: Record<string, string> = {}) => loadConfig(argv, env)
function refusal(argv: string[], env: Record<string, string> = {}): ConfigError {
  try {
    load(argv, env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('configuration was accepted')
}

describe('loadConfig', () => {
  it('has the contract defaults', () => {
    expect(load()).toEqual({
      port: 8080,
      host: '127.0.0.1',
      db: './data/eventline.db',
      kubernetes: { mode: 'off', reason: 'auto: no $KUBECONFIG, ~/.kube/config or in-cluster service account found' },
      registries: [],
      retentionMs: 14 * 86_400_000,
      queryTimeoutMs: 10_000,
      demo: false,
      logLevel: 'info',
    })
  })

  it('reads the query budget in seconds, minutes or milliseconds', () => {
    expect(load([], { EVENTLINE_QUERY_TIMEOUT: '30s' }).queryTimeoutMs).toBe(30_000)
    expect(load(['--query-timeout', '2m']).queryTimeoutMs).toBe(120_000)
    expect(load(['--query-timeout=250ms']).queryTimeoutMs).toBe(250)
  })

  it('reads variables, and flags win over them', () => {
    const env = { EVENTLINE_PORT: '9000', EVENTLINE_HOST: '0.0.0.0', EVENTLINE_DEMO: '1', EVENTLINE_RETENTION: '12h', EVENTLINE_TOKEN: 'from-env-token' }
    const config = load(['--port', '9100', '--token=from-flag-token', '--db', ':memory:'], env)
    expect(config).toMatchObject({ port: 9100, host: '0.0.0.0', demo: true, retentionMs: 12 * 3_600_000, token: 'from-flag-token', db: ':memory:' })
  })

  it('takes a postgres:// or postgresql:// URL as the database', () => {
    expect(load([], { EVENTLINE_DB: 'postgres://eventline:secret@db:5432/eventline' }).db).toBe('postgres://eventline:secret@db:5432/eventline')
    expect(load(['--db', 'postgresql://db/eventline?sslmode=require']).db).toBe('postgresql://db/eventline?sslmode=require')
  })

  it('takes --demo without a value and skips the `--` that pnpm forwards', () => {
    expect(load(['--', '--demo']).demo).toBe(true)
  })

  it('reads kubeconfig contexts from the variable (comma-separated) and repeated --context flags', () => {
    expect(load().kubeContexts).toBeUndefined()
    expect(load([], { EVENTLINE_KUBE_CONTEXTS: 'prod-eu, prod-us,prod-eu' }).kubeContexts).toEqual(['prod-eu', 'prod-us'])
    expect(load([], { EVENTLINE_KUBE_CONTEXTS: '*' }).kubeContexts).toEqual(['*'])
    const flags = load(['--context', 'arn:aws:eks:eu-west-1:1:cluster/a', '--context=gke_p_z_b'], { EVENTLINE_KUBE_CONTEXTS: 'ignored' })
    expect(flags.kubeContexts).toEqual(['arn:aws:eks:eu-west-1:1:cluster/a', 'gke_p_z_b'])
  })

  it('tells --help and --version apart from a start, whatever else is given', () => {
    expect(parseCommandLine(['--help'])).toMatchObject({ help: true, version: false })
    expect(parseCommandLine(['--', '--port', '1', '--version'])).toMatchObject({ help: false, version: true })
    expect(parseCommandLine(['--port', '1', '--registry', 'zookeeper://a', '--registry=zookeeper://b']).flags).toEqual(
      new Map([
        ['port', ['1']],
        ['registries', ['zookeeper://a', 'zookeeper://b']],
      ]),
    )
  })

  it('prints every flag with its variable and default in --help', () => {
    const help = helpText('9.9.9')
    for (const [flag, variable, value] of [
      ['--port', 'EVENTLINE_PORT', '8080'],
      ['--host', 'EVENTLINE_HOST', '127.0.0.1'],
      ['--db', 'EVENTLINE_DB', './data/eventline.db'],
      ['--kubeconfig', 'EVENTLINE_KUBERNETES', 'auto'],
      ['--cluster', 'EVENTLINE_CLUSTER', "the current context's cluster"],
      ['--context', 'EVENTLINE_KUBE_CONTEXTS', "the kubeconfig's current context"],
      ['--registry', 'EVENTLINE_REGISTRIES', 'none'],
      ['--retention', 'EVENTLINE_RETENTION', '14d'],
      ['--token', 'EVENTLINE_TOKEN', 'unset'],
      ['--demo', 'EVENTLINE_DEMO', '0'],
      ['--log-level', 'EVENTLINE_LOG_LEVEL', 'info'],
      ['--config', 'EVENTLINE_CONFIG', './eventline.yaml when it exists'],
    ]) {
      const lines = help.split('\n')
      const at = lines.findIndex((line) => line.trimStart().startsWith(`${flag} `) || line.trim() === flag)
      expect(at, flag).toBeGreaterThan(-1)
      expect(lines[at + 1]!.trim(), flag).toBe(`${variable} (default: ${value})`)
    }
    expect(help).toContain('--help')
    expect(help).toContain('--version')
    expect(help).toContain('9.9.9')
  })

  it('parses Dubbo-style registry URLs from the variable and repeated flags', () => {
    const env = { EVENTLINE_REGISTRIES: 'zookeeper://zk1:2181,zk2:2182?name=zk-prod&root=dubbo; nacos://nacos.local:8848?namespace=public&username=u&password=secret' }
    const config = load([], env)
    expect(config.registries).toEqual([
      { scheme: 'zookeeper', name: 'zk-prod', hosts: ['zk1:2181', 'zk2:2182'], params: { root: 'dubbo' }, address: 'zookeeper://zk1:2181,zk2:2182?name=zk-prod&root=dubbo' },
      {
        scheme: 'nacos',
        name: 'nacos-nacos.local',
        hosts: ['nacos.local:8848'],
        params: { namespace: 'public', username: 'u', password: 'secret' },
        address: 'nacos://nacos.local:8848?namespace=public&username=u&password=***',
      },
    ])
    const flags = load(['--registry', 'zookeeper://a', '--registry', 'zookeeper://b:2000'])
    expect(flags.registries.map((registry) => [registry.name, registry.hosts])).toEqual([
      ['zookeeper-a', ['a:2181']],
      ['zookeeper-b', ['b:2000']],
    ])
  })

  it.each([
    [[], { EVENTLINE_PORT: 'http' }, 'EVENTLINE_PORT'],
    [['--port', '70000'], {}, '--port'],
    [[], { EVENTLINE_RETENTION: '2 weeks' }, 'EVENTLINE_RETENTION'],
    [[], { EVENTLINE_RETENTION: '10s' }, 'EVENTLINE_RETENTION'],
    [[], { EVENTLINE_QUERY_TIMEOUT: '0s' }, 'EVENTLINE_QUERY_TIMEOUT'],
    [[], { EVENTLINE_QUERY_TIMEOUT: 'ten seconds' }, 'EVENTLINE_QUERY_TIMEOUT'],
    [['--query-timeout', '2h'], {}, '--query-timeout'],
    [[], { EVENTLINE_DEMO: 'maybe' }, 'EVENTLINE_DEMO'],
    [[], { EVENTLINE_LOG_LEVEL: 'verbose' }, 'EVENTLINE_LOG_LEVEL'],
    [[], { EVENTLINE_TOKEN: 'short' }, 'EVENTLINE_TOKEN'],
    [[], { EVENTLINE_DB: 'mysql://db/x' }, 'EVENTLINE_DB'],
    [[], { EVENTLINE_DB: 'postgres://u@h' }, 'EVENTLINE_DB'],
    [[], { EVENTLINE_DB: 'postgresql:///db' }, 'EVENTLINE_DB'],
    [[], { EVENTLINE_KUBERNETES: '/nonexistent/kubeconfig' }, 'EVENTLINE_KUBERNETES'],
    [[], { EVENTLINE_CLUSTER: 'bad name' }, 'EVENTLINE_CLUSTER'],
    [[], { EVENTLINE_REGISTRIES: 'etcd://e:2379' }, 'EVENTLINE_REGISTRIES'],
    [[], { EVENTLINE_REGISTRIES: 'zookeeper://zk:99999' }, 'EVENTLINE_REGISTRIES'],
    [[], { EVENTLINE_REGISTRIES: 'zookeeper://a zookeeper://a' }, 'EVENTLINE_REGISTRIES'],
    [['--verbose'], {}, '--verbose'],
    [['--port'], {}, '--port'],
    [['--port', '1', '--port', '2'], {}, '--port'],
    [['--demo=0'], {}, '--demo'],
    [['--port', '--db', 'x'], {}, '--port'],
    [['stray'], {}, 'stray'],
    [['-p', '80'], {}, '-p'],
    [['--context', ''], {}, '--context'],
    [[], { EVENTLINE_KUBE_CONTEXTS: 'prod,*' }, 'EVENTLINE_KUBE_CONTEXTS'],
    [[], { EVENTLINE_KUBE_CONTEXTS: 'has space' }, 'EVENTLINE_KUBE_CONTEXTS'],
  ])('refuses %j %j naming %s', (argv, env, variable) => {
    const error = refusal(argv, env)
    expect(error.variable.startsWith(variable)).toBe(true)
    expect(error.message).not.toContain('\n')
    expect(error.message.startsWith(variable)).toBe(true)
  })

  it('resolves EVENTLINE_KUBERNETES=auto to $KUBECONFIG, then ~/.kube/config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eventline-config-'))
    try {
      const explicit = join(dir, 'explicit.yaml')
      writeFileSync(explicit, 'apiVersion: v1\n')
      mkdirSync(join(dir, '.kube'))
      writeFileSync(join(dir, '.kube', 'config'), 'apiVersion: v1\n')
      expect(load([], { KUBECONFIG: `${join(dir, 'missing')}:${explicit}`, HOME: dir }).kubernetes).toEqual({ mode: 'kubeconfig', path: explicit })
      expect(load([], { HOME: dir }).kubernetes).toEqual({ mode: 'kubeconfig', path: join(dir, '.kube', 'config') })
      expect(load(['--kubeconfig', 'off'], { HOME: dir }).kubernetes).toMatchObject({ mode: 'off' })
      expect(load([], { EVENTLINE_KUBERNETES: explicit, HOME: dir }).kubernetes).toEqual({ mode: 'kubeconfig', path: explicit })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('loads EVENTLINE_CONFIG, else ./eventline.yaml when it exists, else none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eventline-config-'))
    try {
      expect(loadConfig([], {}, dir).file).toBeUndefined()
      writeFileSync(join(dir, 'eventline.yaml'), 'sinks:\n  - { name: bus, type: nats, servers: nats:4222 }\n')
      expect(loadConfig([], {}, dir).file).toMatchObject({ file: './eventline.yaml', sinks: [{ name: 'bus', type: 'nats' }], sinkEvents: { bus: 'all' } })
      mkdirSync(join(dir, 'etc'))
      writeFileSync(join(dir, 'etc', 'rules.yaml'), 'ingest:\n  drop: [{ namespace: kube-system }]\n')
      expect(loadConfig([], { EVENTLINE_CONFIG: 'etc/rules.yaml' }, dir).file).toMatchObject({ file: 'etc/rules.yaml', sinks: [], ingest: { drop: [{ namespace: ['kube-system'] }] } })
      expect(loadConfig(['--config', join(dir, 'etc', 'rules.yaml')], {}, dir).file?.ingest).toBeDefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses a config file that does not exist or does not validate, naming the file and the path in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eventline-config-'))
    try {
      expect(() => loadConfig([], { EVENTLINE_CONFIG: 'missing.yaml' }, dir)).toThrow('EVENTLINE_CONFIG: config file "missing.yaml" does not exist')
      expect(() => loadConfig(['--config', 'missing.yaml'], {}, dir)).toThrow(/^--config: /)
      writeFileSync(join(dir, 'eventline.yaml'), 'sinks:\n  - name: hook\n    type: webhook\n    urll: https://example.com\n')
      const error = (() => {
        try {
          loadConfig([], {}, dir)
        } catch (caught) {
          return caught
        }
      })()
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).message).toMatch(/^\.\/eventline\.yaml: sinks\[0\]\.urll \(line 4\): unknown field "urll"/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('never shows a registry password in an error', () => {
    const error = refusal([], { EVENTLINE_REGISTRIES: 'nacos://h:8848,bad host?password=hunter2' })
    expect(error.message).not.toContain('hunter2')
  })
})
