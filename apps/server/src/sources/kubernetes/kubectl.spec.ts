/**
 * The test API server checked against a client nobody here wrote: the real `kubectl` (Debian's
 * kubernetes-client) discovers the API, creates events and watches them over TLS with a bearer
 * token while Eventline ingests the same events from the same server.
 *
 * `kubectl create` runs with `--validate=false`: the test server serves no OpenAPI document, and
 * kubectl 1.32 stops with "failed to download openapi" rather than create without validating
 * (its own message names the flag). Everything else is kubectl's default behaviour.
 */
import { execFile, spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import type { EventItem, EventPage } from '@eventline/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../testing/eventually.ts'
import { writeKubeconfig } from '../../testing/kubeconfig.ts'
import { makePod, selfSignedCertificate, startKubernetesApiServer } from '../../testing/kubernetesApiServer.ts'
import type { KubernetesApiServer } from '../../testing/kubernetesApiServer.ts'
import { startTestServer, tempDir } from '../../testing/testServer.ts'
import type { TestServer } from '../../testing/testServer.ts'

const KUBECTL = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((path) => existsSync(path))
// Locally a missing kubectl skips; with CI=true it fails (.ci/run installs kubernetes-client).
const skip = KUBECTL === undefined && process.env.CI !== 'true'

const eventYaml = (name: string, reason: string, type: 'Normal' | 'Warning', count: number) => `apiVersion: v1
kind: Event
metadata:
  name: ${name}
  namespace: shop
involvedObject:
  apiVersion: v1
  kind: Pod
  name: cart-1
  namespace: shop
reason: ${reason}
message: ${reason} reported through kubectl
type: ${type}
count: ${count}
firstTimestamp: "${new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z')}"
lastTimestamp: "${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}"
source:
  component: kubectl-test
  host: node-7
`

/** Splits kubectl's `-o json` watch output (pretty objects one after another) into objects. */
function jsonObjects(text: string): Array<{ metadata: { name: string; uid: string }; reason?: string }> {
  return text
    .split(/\n(?=\{)/)
    .filter((part) => part.trim().endsWith('}'))
    .map((part) => JSON.parse(part) as { metadata: { name: string; uid: string }; reason?: string })
}

describe.skipIf(skip)('the test API server and the real kubectl', () => {
  let api: KubernetesApiServer
  let eventline: TestServer
  let watch: ChildProcessWithoutNullStreams
  let watched = ''
  let watchErrors = ''
  const tmp = tempDir()
  let kubeconfig: ReturnType<typeof writeKubeconfig>

  const kubectl = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(KUBECTL!, ['--kubeconfig', kubeconfig.path, ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      )
    })

  beforeAll(async () => {
    const tls = selfSignedCertificate()
    api = await startKubernetesApiServer({ tls, token: 'kubectl-test-token' })
    api.add('pods', makePod({ name: 'cart-1', namespace: 'shop', ip: '10.4.0.9', labels: { app: 'cart' } }))
    // The CA is the self-signed certificate: both clients verify the server, neither skips TLS checks.
    kubeconfig = writeKubeconfig({ server: api.url, token: api.token, cluster: 'tls-cluster', certificateAuthority: tls.cert })
    eventline = await startTestServer({
      db: `${tmp.dir}/eventline.db`,
      kubernetes: { mode: 'kubeconfig', path: kubeconfig.path },
      kubernetesTuning: { backoff: { initialMs: 20, maxMs: 200 } },
    })
    watch = spawn(KUBECTL!, ['--kubeconfig', kubeconfig.path, 'get', 'events', '-A', '--watch', '-o', 'json'])
    watch.stdout.on('data', (chunk: Buffer) => (watched += chunk.toString()))
    watch.stderr.on('data', (chunk: Buffer) => (watchErrors += chunk.toString()))
  })
  afterAll(async () => {
    watch?.kill()
    await eventline?.stop()
    await api?.close()
    kubeconfig?.cleanup()
    tmp.cleanup()
  })

  it('answers discovery and /version as kubectl expects', async () => {
    const version = await kubectl(['version', '-o', 'json'])
    expect(version.stderr).toBe('')
    expect(JSON.parse(version.stdout).serverVersion).toMatchObject({ major: '1', gitVersion: expect.stringMatching(/^v1\./) })
    const resources = await kubectl(['api-resources', '--no-headers', '-o', 'name'])
    expect(resources.code, resources.stderr).toBe(0)
    expect(resources.stdout.split('\n')).toEqual(expect.arrayContaining(['events', 'pods', 'nodes', 'deployments.apps', 'horizontalpodautoscalers.autoscaling', 'events.events.k8s.io']))
  })

  it('creates events with kubectl that kubectl watches and Eventline ingests, with the same uids', async () => {
    const file = `${tmp.dir}/events.yaml`
    writeFileSync(file, [eventYaml('cart-backoff', 'BackOff', 'Warning', 4), eventYaml('cart-pulled', 'Pulled', 'Normal', 1)].join('---\n'))
    const created = await kubectl(['create', '--validate=false', '-f', file])
    expect(created.stderr).toBe('')
    expect(created.stdout.trim().split('\n')).toEqual(['event/cart-backoff created', 'event/cart-pulled created'])

    // kubectl's own watch sees both.
    await eventually(() => {
      const names = jsonObjects(watched).map((object) => object.metadata.name)
      expect(names).toEqual(expect.arrayContaining(['cart-backoff', 'cart-pulled']))
    }, 20_000)
    expect(watchErrors).toBe('')
    const uids = new Map(jsonObjects(watched).map((object) => [object.metadata.name, object.metadata.uid]))

    // Eventline has them too, enriched from the pod watch.
    await eventually(async () => {
      const page = (await eventline.get<EventPage>('/api/v1/events?mesh=tls-cluster&limit=10')).body
      const byId = new Map<string, EventItem>(page.items.map((item) => [item.id, item]))
      expect(byId.get(`kubernetes:${uids.get('cart-backoff')}`)).toMatchObject({
        reason: 'BackOff',
        type: 'warning',
        count: 4,
        component: 'kubectl-test',
        host: 'node-7',
        instance: 'cart-1',
        application: 'cart',
        ip: '10.4.0.9',
        object: { kind: 'Pod', name: 'cart-1', namespace: 'shop' },
      })
      expect(byId.get(`kubernetes:${uids.get('cart-pulled')}`)).toMatchObject({ reason: 'Pulled', type: 'normal', count: 1 })
    }, 20_000)

    // What kubectl lists is what the server stores.
    const listed = await kubectl(['get', 'events', '-n', 'shop', '-o', 'json'])
    expect(listed.code, listed.stderr).toBe(0)
    const items = (JSON.parse(listed.stdout) as { items: Array<{ metadata: { name: string; uid: string } }> }).items
    expect(new Map(items.map((item) => [item.metadata.name, item.metadata.uid]))).toEqual(uids)
  })

  it('refuses a second create of the same event with kubectl\'s AlreadyExists', async () => {
    const file = `${tmp.dir}/again.yaml`
    writeFileSync(file, eventYaml('cart-dup', 'Killing', 'Normal', 1))
    expect((await kubectl(['create', '--validate=false', '-f', file])).code).toBe(0)
    const again = await kubectl(['create', '--validate=false', '-f', file])
    expect(again.code).not.toBe(0)
    expect(again.stderr).toContain('events "cart-dup" already exists')
  })

  it('is refused without the token, as kube-apiserver refuses it', async () => {
    const anonymous = writeKubeconfig({ server: api.url, token: 'wrong', cluster: 'tls-cluster' })
    try {
      const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(KUBECTL!, ['--kubeconfig', anonymous.path, 'get', 'events', '-A'], { timeout: 30_000 }, (error, _stdout, stderr) =>
          resolve({ code: error ? 1 : 0, stderr }),
        )
      })
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/Unauthorized|provide credentials/)
    } finally {
      anonymous.cleanup()
    }
  })
})
