import { describe, expect, it } from 'vitest'
import { parseRule, summarizeRule, summarizeRuleChange } from './ruleSummary.ts'

const TAG = 'force: false\nenabled: true\nkey: demo-provider\ntags:\n  - name: gray\n    addresses: ["10.0.0.9:20880"]\n  - name: blue\n    addresses: ["10.0.0.10:20880"]\n'
const CONDITION = 'scope: service\nenabled: true\nkey: org.x.S\nconditions:\n  - method = sayHello => host = 10.0.0.7\n'
const CONFIGURATOR = 'configVersion: v2.7\nscope: application\nkey: demo-provider\nenabled: true\nconfigs:\n  - addresses: [0.0.0.0]\n    side: provider\n    parameters:\n      timeout: 5000\n'

describe('summarizeRule', () => {
  it.each([
    ['a tag router', TAG, 'force: false, enabled: true, key: demo-provider, 2 tags (gray (addresses=[10.0.0.9:20880]); blue (addresses=[10.0.0.10:20880]))'],
    ['a condition router', CONDITION, 'scope: service, enabled: true, key: org.x.S, 1 condition (method = sayHello => host = 10.0.0.7)'],
    ['a configurator', CONFIGURATOR, 'configVersion: v2.7, scope: application, key: demo-provider, enabled: true, 1 config (addresses=[0.0.0.0], side=provider, parameters.timeout=5000)'],
    ['an empty list', 'enabled: true\nconditions: []\n', 'enabled: true, 0 conditions'],
    ['unparsable YAML', 'conditions: [unclosed', 'unparsable rule'],
  ])('summarises %s', (_name, text, summary) => {
    expect(summarizeRule(text)).toBe(summary)
  })

  it('cuts a long summary', () => {
    const conditions = Array.from({ length: 50 }, (_, i) => `  - host = 10.0.0.${i} => host != 10.0.1.${i}`).join('\n')
    const summary = summarizeRule(`conditions:\n${conditions}\n`)
    expect(summary.length).toBe(400)
    expect(summary.endsWith('…')).toBe(true)
  })
})

describe('summarizeRuleChange', () => {
  it.each([
    ['a scalar flipped', TAG, TAG.replace('enabled: true', 'enabled: false'), 'enabled: true -> false'],
    ['a field added and one removed', 'enabled: true\nforce: false\n', 'enabled: true\npriority: 2\n', 'force: false -> (unset); priority: (unset) -> 2'],
    ['a condition added', CONDITION, `${CONDITION}  - host = 10.0.0.8 => host != 10.0.0.9\n`, 'condition added: host = 10.0.0.8 => host != 10.0.0.9'],
    ['a condition replaced', CONDITION, CONDITION.replace('10.0.0.7', '10.0.0.8'), 'condition added: method = sayHello => host = 10.0.0.8; condition removed: method = sayHello => host = 10.0.0.7'],
    ['a tag added and one removed', TAG, TAG.replace('name: blue', 'name: green'), 'tag added: green (addresses=[10.0.0.10:20880]); tag removed: blue'],
    ['a tag moved to other addresses', TAG, TAG.replace('10.0.0.9:20880', '10.0.0.11:20880'), 'tag gray address added: 10.0.0.11:20880; tag gray address removed: 10.0.0.9:20880'],
    ['a configurator parameter changed', CONFIGURATOR, CONFIGURATOR.replace('5000', '8000'), 'config added: addresses=[0.0.0.0], side=provider, parameters.timeout=8000; config removed: addresses=[0.0.0.0], side=provider, parameters.timeout=5000'],
    ['a nested mapping changed', 'meta:\n  owner: a\n', 'meta:\n  owner: b\n', 'meta.owner: a -> b'],
    ['formatting only', 'enabled: true\n', '# edited\nenabled:   true\n', 'formatting only, no field changed'],
    ['a rule that became unparsable', TAG, 'tags: [', 'rule is now unparsable'],
    ['a rule that became parsable', 'tags: [', 'enabled: true\n', 'was unparsable, now enabled: true'],
  ])('summarises %s', (_name, before, after, summary) => {
    expect(summarizeRuleChange(before, after)).toBe(summary)
  })
})

describe('parseRule', () => {
  it.each([
    ['a mapping', TAG, true],
    ['invalid YAML', 'conditions: [unclosed', false],
    ['a scalar', 'just text', false],
    ['a list', '- a\n- b\n', false],
    ['nothing', '', false],
  ])('accepts %s: %s', (_name, text, ok) => {
    expect(parseRule(text).ok).toBe(ok)
  })
})
