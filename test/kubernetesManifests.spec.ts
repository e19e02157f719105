/**
 * deploy/kubernetes/ holds a working installation: the RBAC the Kubernetes source needs, probes on
 * the server's health endpoints, the SQLite file on a persistent volume, a Service that selects
 * the pod; deploy/kubernetes/postgresql/ the same on PostgreSQL with the URL from a Secret. No
 * cluster runs here, so the manifests are parsed and cross-checked.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, posix, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { eventually } from '../apps/server/src/testing/eventually.ts'
import { writeKubeconfig } from '../apps/server/src/testing/kubeconfig.ts'
import { makeEvent, startKubernetesApiServer } from '../apps/server/src/testing/kubernetesApiServer.ts'
import { startTestServer, tempDir } from '../apps/server/src/testing/testServer.ts'
import { CONTRACT_VARIABLES } from './contractVariables.ts'

const DEPLOY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'deploy', 'kubernetes')

type Manifest = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [key: string]: unknown }
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML, checked field by field below
type Loose = any

const load = (dir: string): Manifest[] =>
  readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .flatMap((file) => parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((document) => document.toJS() as Manifest))
const manifests = load(DEPLOY_DIR)
const onlyIn = (set: Manifest[], kind: string): Loose => {
  const found = set.filter((manifest) => manifest.kind === kind)
  expect(found, kind).toHaveLength(1)
  return found[0]
}
const only = (kind: string): Loose => onlyIn(manifests, kind)

describe('deploy/kubernetes', () => {
  const serviceAccount = only('ServiceAccount')
  const role = only('ClusterRole')
  const binding = only('ClusterRoleBinding')
  const deployment = only('Deployment')
  const service = only('Service')
  const claim = only('PersistentVolumeClaim')
  const pod = deployment.spec.template.spec
  const container = pod.containers[0]
  const env = new Map<string, Loose>(container.env.map((entry: Loose) => [entry.name, entry]))

  const grants = () => {
    const granted = new Set<string>()
    for (const rule of role.rules) {
      for (const group of rule.apiGroups) for (const resource of rule.resources) for (const verb of rule.verbs) granted.add(`${group}/${resource}:${verb}`)
    }
    return granted
  }

  it('grants list and watch on core events, pods, services and autoscaling HPAs, and nothing else', () => {
    const expected = ['/events', '/pods', '/services', 'autoscaling/horizontalpodautoscalers'].flatMap((resource) => ['list', 'watch'].map((verb) => `${resource}:${verb}`))
    expect([...grants()].sort()).toEqual(expected.sort())
  })

  it('grants exactly what the Kubernetes source calls: it runs connected under the role, and uses every grant', { timeout: 60_000 }, async () => {
    // The test API server enforces the ClusterRole's rules (403 for anything else), as RBAC would.
    const api = await startKubernetesApiServer({ rules: role.rules })
    const kubeconfig = writeKubeconfig({ server: api.url, token: api.token, cluster: 'rbac-check' })
    const tmp = tempDir()
    const eventline = await startTestServer({
      db: `${tmp.dir}/eventline.db`,
      kubernetes: { mode: 'kubeconfig', path: kubeconfig.path },
      kubernetesTuning: { backoff: { initialMs: 20, maxMs: 200 } },
    })
    try {
      api.add('events', makeEvent({ name: 'e1', reason: 'Pulled' }))
      await eventually(async () => {
        const meshes = (await eventline.get<{ items: Array<{ name: string; status: string; error?: string }> }>('/api/v1/meshes')).body.items
        expect(meshes.find((mesh) => mesh.name === 'rbac-check')).toMatchObject({ status: 'connected' })
        expect((await eventline.get<{ total: number }>('/api/v1/events?mesh=rbac-check')).body.total).toBe(1)
      })
      const resourceRequests = () => api.requests.filter((request) => /^\/apis?\//.test(request.path) && !/^\/(api(\/v1)?|apis(\/[^/]+){0,2})$/.test(request.path))
      const called = () =>
        new Set(
          resourceRequests().map((request) => {
            const [, group = '', resource] = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/(?:namespaces\/[^/]+\/)?([^/]+)/.exec(request.path)!
            return `${group}/${resource}:${request.watch ? 'watch' : 'list'}`
          }),
        )
      // A loop reports connected once listed; its watch request may follow a moment later.
      await eventually(() => expect([...called()].sort()).toEqual([...grants()].sort()))
      expect(resourceRequests().filter((request) => request.status === 403)).toEqual([])
    } finally {
      await eventline.stop()
      await api.close()
      kubeconfig.cleanup()
      tmp.cleanup()
    }
  })

  it('binds the role to the service account the pod runs as', () => {
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: role.metadata.name })
    expect(binding.subjects).toContainEqual({ kind: 'ServiceAccount', name: serviceAccount.metadata.name, namespace: serviceAccount.metadata.namespace })
    expect(pod.serviceAccountName).toBe(serviceAccount.metadata.name)
    expect(deployment.metadata.namespace).toBe(serviceAccount.metadata.namespace)
  })

  it('probes /readyz and /healthz on the port the server listens on', () => {
    const port = Number(env.get('EVENTLINE_PORT').value)
    const named = new Map<string, number>(container.ports.map((entry: Loose) => [entry.name, entry.containerPort]))
    const target = (probe: Loose) => (typeof probe.httpGet.port === 'string' ? named.get(probe.httpGet.port) : probe.httpGet.port)
    expect(container.readinessProbe.httpGet.path).toBe('/readyz')
    expect(container.livenessProbe.httpGet.path).toBe('/healthz')
    expect(target(container.readinessProbe)).toBe(port)
    expect(target(container.livenessProbe)).toBe(port)
    expect(env.get('EVENTLINE_HOST').value).toBe('0.0.0.0')
  })

  it('keeps the SQLite file on the persistent volume claim, one writer at a time', () => {
    const dbDir = posix.dirname(env.get('EVENTLINE_DB').value)
    const mount = container.volumeMounts.find((entry: Loose) => entry.mountPath === dbDir)
    expect(mount, `a volume mounted at ${dbDir}`).toBeDefined()
    const volume = pod.volumes.find((entry: Loose) => entry.name === mount.name)
    expect(volume.persistentVolumeClaim.claimName).toBe(claim.metadata.name)
    expect(deployment.spec.replicas).toBe(1)
    expect(deployment.spec.strategy.type).toBe('Recreate')
  })

  it('runs as a non-root user and sets only contract variables', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true)
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false)
    for (const name of env.keys()) expect(CONTRACT_VARIABLES.includes(name), name).toBe(true)
    expect(env.get('EVENTLINE_KUBERNETES').value).toBe('auto')
  })

  it('exposes the pod through a Service whose selector matches the pod labels', () => {
    const labels = deployment.spec.template.metadata.labels
    for (const [key, value] of Object.entries(service.spec.selector)) expect(labels[key]).toBe(value)
    expect(deployment.spec.selector.matchLabels).toEqual(service.spec.selector)
    const containerPorts = container.ports.map((entry: Loose) => entry.name)
    for (const port of service.spec.ports) expect(containerPorts).toContain(port.targetPort)
  })
})

describe('deploy/kubernetes/postgresql', () => {
  // Applied with ../rbac.yaml instead of ../eventline.yaml: the same pod on PostgreSQL.
  const variant = load(join(DEPLOY_DIR, 'postgresql'))
  const deployment = onlyIn(variant, 'Deployment')
  const service = onlyIn(variant, 'Service')
  const sqliteDeployment = only('Deployment')
  const pod = deployment.spec.template.spec
  const container = pod.containers[0]
  const env = new Map<string, Loose>(container.env.map((entry: Loose) => [entry.name, entry]))

  it('reads EVENTLINE_DB from a Secret, never a literal in the manifest', () => {
    const db = env.get('EVENTLINE_DB')
    expect(db.value).toBeUndefined()
    expect(db.valueFrom.secretKeyRef).toMatchObject({ name: 'eventline-postgres', key: 'url' })
    expect(db.valueFrom.secretKeyRef.optional).not.toBe(true)
    expect(variant.filter((manifest) => manifest.kind === 'PersistentVolumeClaim')).toEqual([])
    expect(pod.volumes.every((volume: Loose) => volume.persistentVolumeClaim === undefined)).toBe(true)
  })

  it('is the SQLite deployment in every other respect: account, probes, security, contract variables', () => {
    expect(pod.serviceAccountName).toBe(sqliteDeployment.spec.template.spec.serviceAccountName)
    expect(pod.serviceAccountName).toBe(only('ServiceAccount').metadata.name)
    const sqliteContainer = sqliteDeployment.spec.template.spec.containers[0]
    for (const field of ['readinessProbe', 'livenessProbe', 'securityContext', 'ports', 'image']) expect(container[field], field).toEqual(sqliteContainer[field])
    expect(pod.securityContext).toEqual(sqliteDeployment.spec.template.spec.securityContext)
    for (const name of env.keys()) expect(CONTRACT_VARIABLES.includes(name), name).toBe(true)
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels)
    // Leader election (a lease in the database): several pods, one ingesting; rolled, never all down.
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2)
    expect(deployment.spec.strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } })
  })
})
