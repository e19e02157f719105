import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseFileConfig } from './fileConfig.ts'

const README = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'README.md')

describe('the README forwarding example', () => {
  it('is a valid eventline.yaml with the four sink types', () => {
    const readme = readFileSync(README, 'utf8')
    const section = readme.slice(readme.indexOf('### Forwarding, at least once'))
    const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1]
    expect(block).toBeDefined()
    const config = parseFileConfig(block!, 'README.md', { SLACK_HOOK: 'T000/B000/XXX', LOKI_PASSWORD: 'p', ES_API_KEY: 'k' })
    expect(config.sinks.map(({ type }) => type)).toEqual(['nats', 'webhook', 'loki', 'elasticsearch'])
    expect(config.sinks[2]).toMatchObject({ tenant: 'team-a', staticLabels: { job: 'eventline', cluster: 'prod-eu' }, maxBytes: 1 << 20 })
  })
})
