import { describe, expect, it } from 'vitest'
import en from '../locales/en.ts'
import zhCN from '../locales/zh-CN.ts'
import { i18n } from './index.ts'

/** Every leaf key of a message tree, as `a.b.c`. */
function keys(tree: object, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) => (typeof value === 'string' ? [`${prefix}${key}`] : keys(value as object, `${prefix}${key}.`)))
}

describe('messages', () => {
  it('fills named placeholders, leaves a missing one visible, and keeps other text as is', () => {
    const { t } = i18n.global
    expect(t('timeline.showing', { shown: 50, total: 1234 })).toBe('Showing 50 of 1234')
    expect(t('timeline.repeated', { count: 3 })).toBe('×3 since {first}')
    expect(t('timeline.end')).toContain('about an hour.')
  })

  it('has the same keys and placeholders in zh-CN as in en', () => {
    expect(keys(zhCN)).toEqual(keys(en))
    const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort()
    const lookup = (tree: object, key: string) => key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], tree) as string
    for (const key of keys(en)) expect(placeholders(lookup(zhCN, key)), key).toEqual(placeholders(lookup(en, key)))
  })

  it('uses no message syntax beyond named placeholders', () => {
    // Plurals (`|`) and linked messages (`@:`) would show literally with our compiler.
    const lookup = (tree: object, key: string) => key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], tree) as string
    for (const tree of [en, zhCN]) for (const key of keys(tree)) expect(lookup(tree, key), key).not.toMatch(/\||@:|@\.|\{[^}\w]/)
  })
})
