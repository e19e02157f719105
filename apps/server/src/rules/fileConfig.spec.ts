import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../configError.ts'
import { loadFileConfig, parseFileConfig } from './fileConfig.ts'

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), 'eventline.example.yaml')
const EXAMPLE_ENV = { SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/secret', DINGTALK_TOKEN: 'ding-secret' }

function refusal(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseFileConfig(text, 'eventline.yaml', env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('the file was accepted')
}

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`

describe('parseFileConfig', () => {
  it('reads an empty file as no sinks, routes, filter or alerts', () => {
    expect(parseFileConfig('', 'eventline.yaml')).toEqual({ file: 'eventline.yaml', sinks: [], sinkEvents: {}, sinkLocations: {}, routes: [], alerts: [] })
    expect(parseFileConfig('sinks:\n', 'eventline.yaml').sinks).toEqual([])
  })

  it('applies the sink defaults', () => {
    const config = parseFileConfig(
      yaml('sinks:', '  - { name: bus, type: nats, servers: nats:4222 }', '  - { name: hook, type: webhook, url: "https://example.com/hook" }'),
      'eventline.yaml',
    )
    expect(config.sinks).toEqual([
      { type: 'nats', name: 'bus', servers: ['nats:4222'], subjectPrefix: 'eventline', stream: { name: 'EVENTLINE' } },
      { type: 'webhook', name: 'hook', url: 'https://example.com/hook', format: 'json', headers: {}, timeoutMs: 5_000, retry: { initialMs: 1_000, maxMs: 300_000 } },
    ])
  })

  it('gives a sink without a route every event, unless an alert names it', () => {
    const config = parseFileConfig(
      yaml(
        'routes: [{ name: warnings, match: { type: Warning } }]',
        'sinks:',
        '  - { name: all, type: webhook, url: "http://a" }',
        '  - { name: routed, type: webhook, url: "http://b", route: warnings }',
        '  - { name: pager, type: webhook, url: "http://c" }',
        '  - { name: pager-and-route, type: webhook, url: "http://d", route: warnings }',
        'alerts:',
        '  - { name: a, sink: pager, match: { type: warning } }',
        '  - { name: b, sink: pager-and-route, match: { type: warning } }',
      ),
      'eventline.yaml',
    )
    expect(config.sinkEvents).toEqual({ all: 'all', routed: { route: 'warnings' }, pager: 'alerts-only', 'pager-and-route': { route: 'warnings' } })
    expect(config.routes).toEqual([{ name: 'warnings', match: [{ type: ['warning'] }] }])
    expect(config.alerts[0]).toEqual({ name: 'a', sink: 'pager', windowMs: 600_000, match: [{ type: ['warning'] }] })
  })

  it('expands ${NAME} from the environment in values', () => {
    const config = parseFileConfig(yaml('sinks:', '  - name: hook', '    type: webhook', '    url: https://example.com/${HOOK_PATH}', '    headers: { Authorization: "Bearer ${TOKEN}" }'), 'eventline.yaml', {
      HOOK_PATH: 'x/y',
      TOKEN: 't0k3n',
    })
    expect(config.sinks[0]).toMatchObject({ url: 'https://example.com/x/y', headers: { Authorization: 'Bearer t0k3n' } })
  })

  it('loads and validates the example file', () => {
    const config = loadFileConfig(EXAMPLE, EXAMPLE_ENV, 'eventline.example.yaml')
    expect(config.sinks.map((sink) => [sink.name, sink.type])).toEqual([
      ['nats', 'nats'],
      ['slack-warnings', 'webhook'],
      ['dingtalk-oncall', 'webhook'],
    ])
    expect(config.sinks[0]).toMatchObject({ stream: { name: 'EVENTLINE', maxAgeMs: 7 * 86_400_000, maxBytes: 10 * 2 ** 30, replicas: 1, duplicateWindowMs: 120_000 } })
    expect(config.sinks[1]).toMatchObject({ format: 'slack', url: EXAMPLE_ENV.SLACK_WEBHOOK_URL })
    expect(config.sinkEvents).toEqual({ nats: { route: 'everything-but-normal-noise' }, 'slack-warnings': { route: 'warnings' }, 'dingtalk-oncall': 'alerts-only' })
    expect(config.sinkLocations).toEqual({ nats: 'eventline.example.yaml: sinks[0] (line 41)', 'slack-warnings': 'eventline.example.yaml: sinks[1] (line 52)', 'dingtalk-oncall': 'eventline.example.yaml: sinks[2] (line 61)' })
    expect(config.alerts.map((rule) => [rule.name, rule.sink, rule.windowMs])).toEqual([
      ['pod-failures', 'dingtalk-oncall', 600_000],
      ['registry-losses', 'dingtalk-oncall', 300_000],
    ])
    expect(config.ingest?.match).toHaveLength(3)
  })

  it.each([
    ['an unknown field', yaml('sinks:', '  - name: hook', '    type: webhook', '    urll: https://example.com'), 'eventline.yaml: sinks[0].urll (line 4)', 'unknown field "urll"'],
    ['an unknown top-level section', yaml('sink: []'), 'eventline.yaml: sink (line 1)', 'unknown field "sink"'],
    ['an unknown matcher field', yaml('ingest:', '  keep:', '    - reason: BackOff', '      namepsace: shop'), 'eventline.yaml: ingest.keep[0].namepsace (line 4)', 'unknown field "namepsace"'],
    ['a bad regex', yaml('routes:', '  - name: r', '    match:', '      - reason: "("'), 'eventline.yaml: routes[0].match[0].reason (line 4)', 'invalid regex "(": missing closing )'],
    [
      'a backreference (needs a backtracking engine)',
      yaml('ingest:', '  drop:', '    - reason: "^(a+)\\\\1$"'),
      'eventline.yaml: ingest.drop[0].reason (line 3)',
      'regex "^(a+)\\\\1$" needs a backtracking engine',
    ],
    ['a lookahead', yaml('routes:', '  - name: r', '    match:', '      - name: "^(?!kube-)"'), 'eventline.yaml: routes[0].match[0].name (line 4)', 'regex "^(?!kube-)" needs a backtracking engine'],
    ['a lookbehind in a label value', yaml('ingest:', '  keep:', '    - labels:', '        tier: "(?<=x)front"'), 'eventline.yaml: ingest.keep[0].labels.tier (line 4)', 'no backreferences or lookaround'],
    ['a bad regex in a single matcher', yaml('alerts:', '  - name: crashes', '    sink: pager', '    match: { reason: "(" }'), 'eventline.yaml: alerts[0].match.reason (line 4)', 'invalid regex "("'],
    ['a bad regex in a list', yaml('ingest:', '  drop:', '    - name: [ok, "a[b"]'), 'eventline.yaml: ingest.drop[0].name[1] (line 3)', 'invalid regex "a[b"'],
    ['a bad label key', yaml('ingest:', '  keep:', '    - labels: { "*": true }'), 'eventline.yaml: ingest.keep[0].labels["*"] (line 3)', 'is not a label key'],
    ['a bad header name', yaml('sinks:', '  - name: h', '    type: webhook', '    url: http://h', '    headers:', '      "X Bad": v'), 'eventline.yaml: sinks[0].headers["X Bad"] (line 6)', 'is not an HTTP header name'],
    ['a bad label regex', yaml('ingest:', '  keep:', '    - labels:', '        tier: "*front"'), 'eventline.yaml: ingest.keep[0].labels.tier (line 4)', 'invalid regex "*front"'],
    [
      'an undefined route',
      yaml('routes: [{ name: warnings }]', 'sinks:', '  - name: hook', '    type: webhook', '    url: http://hook', '    route: warning'),
      'eventline.yaml: sinks[0].route (line 6)',
      'route "warning" is not defined; defined: warnings',
    ],
    [
      'an undefined sink',
      yaml('alerts:', '  - name: crashes', '    sink: pager', '    match: { reason: BackOff }'),
      'eventline.yaml: alerts[0].sink (line 3)',
      'sink "pager" is not defined (there are no sinks)',
    ],
    ['a bad duration', yaml('alerts:', '  - name: crashes', '    sink: pager', '    window: 10 minutes', '    match: { reason: BackOff }'), 'eventline.yaml: alerts[0].window (line 4)', 'must be a duration like 30s, 10m or 2h, got "10 minutes"'],
    ['a number as a duration', yaml('sinks:', '  - { name: h, type: webhook, url: "http://h", timeout: 5000 }'), 'eventline.yaml: sinks[0].timeout (line 2)', 'must be a duration'],
    ['a duplicate sink name', yaml('sinks:', '  - { name: h, type: webhook, url: "http://a" }', '  - { name: h, type: webhook, url: "http://b" }'), 'eventline.yaml: sinks[1].name (line 3)', 'sink "h" is defined twice (also sinks[0])'],
    ['a duplicate route name', yaml('routes:', '  - name: r', '  - name: r'), 'eventline.yaml: routes[1].name (line 3)', 'route "r" is defined twice'],
    ['a duplicate key', yaml('sinks: []', 'sinks: []'), 'eventline.yaml (line 2)', 'Map keys must be unique'],
    ['a missing required field', yaml('sinks:', '  - name: hook', '    type: webhook'), 'eventline.yaml: sinks[0].url (line 2)', 'is required'],
    ['an unknown sink type', yaml('sinks:', '  - { name: k, type: kafka }'), 'eventline.yaml: sinks[0].type (line 2)', 'must be nats, webhook, loki or elasticsearch'],
    ['an unknown event type', yaml('ingest:', '  keep: [{ type: info }]'), 'eventline.yaml: ingest.keep[0].type (line 2)', 'must be one of normal, warning'],
    ['an empty matcher', yaml('ingest:', '  drop: [{}]'), 'eventline.yaml: ingest.drop[0] (line 2)', 'a matcher needs at least one field'],
    ['an empty label map, which would match every event', yaml('ingest:', '  drop:', '    - labels: {}'), 'eventline.yaml: ingest.drop[0].labels (line 3)', 'needs at least one label key'],
    ['a header value with a line break', yaml('sinks:', '  - name: h', '    type: webhook', '    url: http://h', '    headers:', '      X-Token: "a\\r\\nb"'), 'eventline.yaml: sinks[0].headers.X-Token (line 6)', 'must not contain a line break'],
    ['a NATS port above 65535', yaml('sinks:', '  - { name: n, type: nats, servers: [nats://n:99999] }'), 'eventline.yaml: sinks[0].servers[0] (line 2)', 'has a port above 65535'],
    ['a webhook URL that is not http(s)', yaml('sinks:', '  - { name: h, type: webhook, url: "ftp://h" }'), 'eventline.yaml: sinks[0].url (line 2)', 'must be an http:// or https:// URL'],
    ['a YAML syntax error', yaml('sinks: [', 'routes: {}'), 'eventline.yaml (line 2)', ''],
    ['an unset environment variable', yaml('sinks:', '  - { name: h, type: webhook, url: "${HOOK_URL}" }'), 'eventline.yaml: sinks[0].url (line 2)', 'environment variable "HOOK_URL" is not set'],
    ['half of the NATS credentials', yaml('sinks:', '  - { name: n, type: nats, servers: [n:4222], user: u }'), 'eventline.yaml: sinks[0].pass (line 2)', 'user and pass go together'],
  ])('refuses %s, naming the file, the path and the line', (_name, text, where, reason) => {
    const error = refusal(text)
    expect(error.variable).toBe(where)
    expect(error.message.startsWith(`${where}: `)).toBe(true)
    expect(error.reason).toContain(reason)
    expect(error.message).not.toContain('\n')
  })

  it('never shows a webhook URL in an error (it carries the secret)', () => {
    expect(refusal(yaml('sinks:', '  - { name: h, type: webhook, url: "hooks.slack.com/services/T0/B0/secret" }')).message).not.toContain('secret')
  })
})

describe('loadFileConfig', () => {
  it('names the file as the operator gave it when it cannot be read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eventline-rules-'))
    try {
      expect(() => loadFileConfig(dir, {}, 'conf/')).toThrow(/^conf\/: cannot read: EISDIR$/)
      writeFileSync(join(dir, 'eventline.yaml'), 'alerts: 1\n')
      expect(() => loadFileConfig(join(dir, 'eventline.yaml'), {}, './eventline.yaml')).toThrow('./eventline.yaml: alerts (line 1): must be a list, got a number')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
