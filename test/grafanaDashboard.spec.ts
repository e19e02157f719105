// The Grafana dashboard under deploy/grafana reads what the Loki sink writes: its stream selectors
// use only labels the sink sets by default, and the fields it extracts with `| json` exist in the
// lines (LogQL's json parser flattens `object.kind` to `object_kind`).
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EventItem } from '../packages/shared/src/index.ts'
import { describe, expect, it } from 'vitest'
import { parseFileConfig } from '../apps/server/src/rules/fileConfig.ts'
import { lokiEntry } from '../apps/server/src/sinks/lokiSink.ts'
import type { LokiSinkConfig } from '../apps/server/src/sinks/types.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/eventline-loki.json'), 'utf8')) as {
  panels: Array<{ title: string; datasource: { type: string; uid: string }; targets: Array<{ expr: string }> }>
  templating: { list: Array<{ query: string }> }
}

const event: EventItem = {
  id: 'kubernetes:1',
  time: '2026-11-20T08:00:00.000Z',
  firstTime: '2026-11-20T08:00:00.000Z',
  count: 1,
  type: 'warning',
  reason: 'BackOff',
  message: 'Back-off restarting failed container',
  source: 'kubernetes',
  component: 'kubelet',
  mesh: 'prod',
  object: { kind: 'Pod', name: 'cart-1', namespace: 'shop' },
  application: 'cart',
}

function flatten(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, item]) => (typeof item === 'object' && item !== null ? flatten(item as Record<string, unknown>, `${prefix}${key}_`) : [`${prefix}${key}`]))
}

describe('the Loki dashboard', () => {
  const config = parseFileConfig('sinks:\n  - { name: logs, type: loki, url: "http://loki:3100" }', 'test.yaml').sinks[0] as LokiSinkConfig
  const labels = new Set(Object.keys(lokiEntry({ seq: 1, event }, config).labels))
  const fields = new Set(flatten(JSON.parse(lokiEntry({ seq: 1, event }, config).line) as Record<string, unknown>))
  const exprs = [...dashboard.panels.flatMap(({ targets }) => targets.map(({ expr }) => expr)), ...dashboard.templating.list.map(({ query }) => query)]

  it('queries Loki through the data source the import asks for', () => {
    for (const panel of dashboard.panels) expect(panel.datasource, panel.title).toEqual({ type: 'loki', uid: '${DS_LOKI}' })
  })

  it('selects streams only by labels the sink sets', () => {
    for (const expr of exprs) {
      const selectors = [...expr.matchAll(/\{([^{}]*=[^{}]*)\}/g)].map(([, body]) => body!)
      expect(selectors.length, expr).toBeGreaterThan(0)
      for (const selector of selectors) {
        for (const [, name] of selector.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!=|!~|=)/g)) expect(labels, `${name} in ${expr}`).toContain(name)
      }
    }
  })

  it('reads only fields the lines carry', () => {
    for (const expr of exprs) {
      const used = [
        ...[...expr.matchAll(/\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map(([, name]) => name!),
        ...[...expr.matchAll(/json ([a-z_]+)="([a-zA-Z_.]+)"/g)].map(([, , field]) => field!.replaceAll('.', '_')),
      ]
      for (const name of used) expect(fields, `${name} in ${expr}`).toContain(name)
      for (const [, group] of expr.matchAll(/by \(([^)]*)\)/g)) for (const name of group!.split(',').map((part) => part.trim())) expect([...fields, ...labels], `${name} in ${expr}`).toContain(name)
    }
  })
})
