/**
 * deploy/helm/eventline, rendered by test/helmTemplate.ts (the subset of Helm's template language
 * the chart uses; no `helm` binary here) with the chart's defaults and with overrides, parsed and
 * cross-checked as test/kubernetesManifests.spec.ts checks the plain manifests. Not verified here:
 * that `helm template` renders byte-for-byte the same, and that a cluster accepts the objects
 * (no API server schema validation).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { CONTRACT_VARIABLES } from './contractVariables.ts'
import { mergeValues, renderTemplate } from './helmTemplate.ts'

const CHART = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'deploy', 'helm', 'eventline')
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML, checked field by field below
type Loose = any

const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { name: string; version: string }
const defaults = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>

function renderChart(overrides: Record<string, unknown> = {}, release = { Name: 'eventline', Namespace: 'monitoring' }): Loose[] {
  const context = { Values: mergeValues(defaults, overrides), Release: release, Chart: { Name: chart.name, Version: chart.version } }
  return readdirSync(join(CHART, 'templates'))
    .filter((file) => file.endsWith('.yaml'))
    .flatMap((file) => {
      const documents = parseAllDocuments(renderTemplate(readFileSync(join(CHART, 'templates', file), 'utf8'), context))
      for (const document of documents) expect(document.errors, file).toEqual([])
      return documents.map((document) => document.toJS() as Loose).filter((manifest) => manifest !== null)
    })
}
const only = (manifests: Loose[], kind: string): Loose => {
  const found = manifests.filter((manifest) => manifest.kind === kind)
  expect(found, kind).toHaveLength(1)
  return found[0]
}

describe('deploy/helm/eventline', () => {
  const manifests = renderChart()
  const deployment = only(manifests, 'Deployment')
  const pod = deployment.spec.template.spec
  const container = pod.containers[0]
  const env = new Map<string, Loose>(container.env.map((entry: Loose) => [entry.name, entry]))

  it('runs the configured replicas, rolled one at a time, with the PostgreSQL URL from a Secret', () => {
    expect(deployment.spec.replicas).toBe(2)
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } })
    expect(env.get('EVENTLINE_DB')).toEqual({ name: 'EVENTLINE_DB', valueFrom: { secretKeyRef: { name: 'eventline-postgres', key: 'url' } } })
    expect(renderChart({ replicaCount: 3 }).find((manifest) => manifest.kind === 'Deployment').spec.replicas).toBe(3)
  })

  it('sets only contract variables, optional ones only when given', () => {
    for (const name of env.keys()) expect(CONTRACT_VARIABLES.includes(name), name).toBe(true)
    expect(env.has('EVENTLINE_REGISTRIES')).toBe(false)
    expect(env.has('EVENTLINE_TOKEN')).toBe(false)
    const custom = only(renderChart({ config: { registries: 'zookeeper://zk:2181?name=prod' }, token: { secretName: 'eventline-token' } }), 'Deployment')
    const customEnv = new Map<string, Loose>(custom.spec.template.spec.containers[0].env.map((entry: Loose) => [entry.name, entry]))
    expect(customEnv.get('EVENTLINE_REGISTRIES').value).toBe('zookeeper://zk:2181?name=prod')
    expect(customEnv.get('EVENTLINE_TOKEN').valueFrom.secretKeyRef).toEqual({ name: 'eventline-token', key: 'token' })
  })

  it('probes start-up, readiness and liveness on the port the server listens on', () => {
    const port = Number(env.get('EVENTLINE_PORT').value)
    const named = new Map<string, number>(container.ports.map((entry: Loose) => [entry.name, entry.containerPort]))
    for (const [probe, path] of [
      ['startupProbe', '/healthz'],
      ['readinessProbe', '/readyz'],
      ['livenessProbe', '/healthz'],
    ] as const) {
      expect(container[probe].httpGet.path, probe).toBe(path)
      expect(named.get(container[probe].httpGet.port), probe).toBe(port)
    }
    expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBeGreaterThanOrEqual(60)
    expect(env.get('EVENTLINE_HOST').value).toBe('0.0.0.0')
  })

  it('runs non-root with the RuntimeDefault seccomp profile, no privilege escalation, and resources', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
    expect(container.resources).toEqual(defaults.resources)
    expect(only(renderChart({ resources: { limits: { memory: '1Gi' } } }), 'Deployment').spec.template.spec.containers[0].resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '1Gi' },
    })
  })

  it('grants get, list and watch on events in both API groups, pods and services, and nothing else', () => {
    const role = only(manifests, 'ClusterRole')
    const grants = new Set<string>()
    for (const rule of role.rules) {
      for (const group of rule.apiGroups) for (const resource of rule.resources) for (const verb of rule.verbs) grants.add(`${group}/${resource}:${verb}`)
    }
    const expected = ['/events', 'events.k8s.io/events', '/pods', '/services'].flatMap((resource) => ['get', 'list', 'watch'].map((verb) => `${resource}:${verb}`))
    expect([...grants].sort()).toEqual(expected.sort())
    const binding = only(manifests, 'ClusterRoleBinding')
    const account = only(manifests, 'ServiceAccount')
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: role.metadata.name })
    expect(binding.subjects).toContainEqual({ kind: 'ServiceAccount', name: account.metadata.name, namespace: 'monitoring' })
    expect(pod.serviceAccountName).toBe(account.metadata.name)
    expect(renderChart({ rbac: { create: false } }).filter((manifest) => /^ClusterRole/.test(manifest.kind))).toEqual([])
  })

  it('selects the pods with its Service and PodDisruptionBudget, in the release namespace', () => {
    const labels = deployment.spec.template.metadata.labels
    const service = only(manifests, 'Service')
    const budget = only(manifests, 'PodDisruptionBudget')
    for (const selector of [service.spec.selector, budget.spec.selector.matchLabels, deployment.spec.selector.matchLabels]) {
      for (const [key, value] of Object.entries(selector)) expect(labels[key]).toBe(value)
    }
    expect(budget.spec.minAvailable).toBe(1)
    expect(budget.spec.minAvailable).toBeLessThan(deployment.spec.replicas)
    expect(container.ports.map((entry: Loose) => entry.name)).toContain(service.spec.ports[0].targetPort)
    for (const manifest of manifests) if (manifest.kind !== 'ClusterRole' && manifest.kind !== 'ClusterRoleBinding') expect(manifest.metadata.namespace, manifest.kind).toBe('monitoring')
  })

  it('the renderer refuses template syntax it does not implement instead of guessing', () => {
    const context = { Values: {}, Release: { Name: 'x', Namespace: 'y' }, Chart: { Name: 'c', Version: '1' } }
    expect(() => renderTemplate('{{ include "x" . }}', context)).toThrow(/unsupported/)
    expect(() => renderTemplate('{{ .Values.missing }}', context)).toThrow(/no value/)
    expect(() => renderTemplate('{{ .Values | upper }}', context)).toThrow(/unsupported template function/)
    expect(renderTemplate('a:\n  {{- if .Values }}\n  b: 1\n  {{- else }}\n  c: 2\n  {{- end }}\n', context)).toBe('a:\n  c: 2\n')
  })
})
