import { describe, expect, it } from 'vitest'
import type { IngestEvent } from '../store/types.ts'
import { compileMatcher, compileSelector } from './matcher.ts'
import type { MatcherSpec } from './matcher.ts'

/** A Kubernetes pod warning; each case overrides what it tests. */
function podEvent(overrides: Partial<IngestEvent> = {}): IngestEvent {
  return {
    id: 'kubernetes:e-1',
    time: 1_000_000,
    type: 'warning',
    reason: 'BackOff',
    message: 'Back-off restarting failed container',
    source: 'kubernetes',
    component: 'kubelet',
    mesh: 'prod',
    object: { kind: 'Pod', namespace: 'shop', name: 'web-7d9f-x2k4q' },
    application: 'web',
    labels: { 'app.kubernetes.io/name': 'web', tier: 'front', 'team.example.com/owner': 'payments' },
    ...overrides,
  }
}

const registryEvent: IngestEvent = {
  id: 'zookeeper:1',
  time: 1_000_000,
  type: 'warning',
  reason: 'ProviderUnregistered',
  message: 'Provider unregistered: orders 10.0.0.7:20880',
  source: 'zookeeper',
  component: 'zookeeper',
  mesh: 'zk-prod',
  object: { kind: 'Instance', name: '10.0.0.7:20880' },
  application: 'orders',
}

describe('compileMatcher', () => {
  it.each<[string, MatcherSpec, IngestEvent, boolean]>([
    ['type matches', { type: ['warning'] }, podEvent(), true],
    ['type differs', { type: ['normal'] }, podEvent(), false],
    ['type from a list', { type: ['normal', 'warning'] }, podEvent(), true],
    ['reason regex matches anywhere (not anchored)', { reason: ['Off'] }, podEvent(), true],
    ['reason anchored by ^...$ refuses a longer reason', { reason: ['^BackOff$'] }, podEvent({ reason: 'ImagePullBackOff' }), false],
    ['reason unanchored accepts a longer reason', { reason: ['BackOff'] }, podEvent({ reason: 'ImagePullBackOff' }), true],
    ['reason from a list of regexes', { reason: ['^OOMKilling$', '^BackOff$'] }, podEvent(), true],
    ['reason differs', { reason: ['^Unhealthy$'] }, podEvent(), false],
    ['kind is exact', { kind: ['Pod'] }, podEvent(), true],
    ['kind is case-sensitive', { kind: ['pod'] }, podEvent(), false],
    ['namespace is exact', { namespace: ['shop'] }, podEvent(), true],
    ['namespace is not a regex', { namespace: ['sho'] }, podEvent(), false],
    ['namespace missing on the event never matches', { namespace: ['shop'] }, registryEvent, false],
    ['name regex on the object name', { name: ['^web-'] }, podEvent(), true],
    ['name regex "contains"', { name: ['pipeline-task'] }, podEvent({ object: { kind: 'Pod', namespace: 'hero-user', name: 'job-42-pipeline-task-0' } }), true],
    ['name differs', { name: ['^api-'] }, podEvent(), false],
    ['mesh is exact', { mesh: ['prod'] }, podEvent(), true],
    ['mesh differs', { mesh: ['staging'] }, podEvent(), false],
    ['application is exact', { application: ['orders'] }, registryEvent, true],
    ['application missing on the event never matches', { application: ['web'] }, podEvent({ application: undefined }), false],
    ['source matches', { source: ['zookeeper', 'nacos'] }, registryEvent, true],
    ['source differs', { source: ['zookeeper', 'nacos'] }, podEvent(), false],
    ['label value regex', { labels: { tier: '^front$' } }, podEvent(), true],
    ['label value differs', { labels: { tier: '^back$' } }, podEvent(), false],
    ['label present', { labels: { tier: true } }, podEvent(), true],
    ['label present, but missing', { labels: { 'system.hero.ai': true } }, podEvent(), false],
    ['label absent', { labels: { 'system.hero.ai': false } }, podEvent(), true],
    ['label absent, but present', { labels: { tier: false } }, podEvent(), false],
    ['label on an event without labels', { labels: { tier: true } }, registryEvent, false],
    ['label absent on an event without labels', { labels: { tier: false } }, registryEvent, true],
    ['label prefix/* present', { labels: { 'team.example.com/*': true } }, podEvent(), true],
    ['label prefix/* value regex', { labels: { 'team.example.com/*': '^pay' } }, podEvent(), true],
    ['label prefix/* value differs', { labels: { 'team.example.com/*': '^search$' } }, podEvent(), false],
    ['label prefix/* absent', { labels: { 'team.example.com/*': false } }, podEvent(), false],
    ['label prefix/* does not match a longer prefix', { labels: { 'team.example/*': true } }, podEvent(), false],
    ['every field must match (AND)', { type: ['warning'], namespace: ['shop'], reason: ['^Unhealthy$'] }, podEvent(), false],
    ['all fields matching', { type: ['warning'], namespace: ['shop'], kind: ['Pod'], name: ['^web-'], mesh: ['prod'], source: ['kubernetes'], labels: { tier: true } }, podEvent(), true],
  ])('%s', (_name, spec, event, expected) => {
    expect(compileMatcher(spec)(event)).toBe(expected)
  })
})

describe('patterns run in linear time (RE2)', () => {
  it('answers at once for a pattern that backtracks catastrophically in RegExp', () => {
    // With RegExp, `^(a+)+$` against 40 "a" and one "!" takes minutes; the test would time out.
    const drop = compileMatcher({ reason: ['^(a+)+$'] })
    expect(drop(podEvent({ reason: `${'a'.repeat(40)}!` }))).toBe(false)
    expect(drop(podEvent({ reason: 'a'.repeat(41) }))).toBe(true)
    expect(compileMatcher({ name: ['(x+x+)+y'] })(podEvent({ object: { kind: 'Pod', name: 'x'.repeat(5000) } }))).toBe(false)
  })

  it('takes RE2 syntax: inline flags and Unicode classes', () => {
    expect(compileMatcher({ reason: ['(?i)^backoff$'] })(podEvent())).toBe(true)
    expect(compileMatcher({ labels: { tier: '^\\p{L}+$' } })(podEvent())).toBe(true)
  })
})

describe('compileSelector', () => {
  it.each<[string, Parameters<typeof compileSelector>[0], IngestEvent, boolean]>([
    ['no match selects everything', {}, podEvent(), true],
    ['match is any-of', { match: [{ namespace: ['other'] }, { reason: ['^BackOff$'] }] }, podEvent(), true],
    ['no match matching', { match: [{ namespace: ['other'] }] }, podEvent(), false],
    ['drop removes a match', { match: [{ type: ['warning'] }], drop: [{ namespace: ['shop'] }] }, podEvent(), false],
    ['drop alone removes from everything', { drop: [{ source: ['zookeeper'] }] }, registryEvent, false],
    ['drop alone keeps what it does not match', { drop: [{ source: ['zookeeper'] }] }, podEvent(), true],
  ])('%s', (_name, selector, event, expected) => {
    expect(compileSelector(selector)(event)).toBe(expected)
  })
})
