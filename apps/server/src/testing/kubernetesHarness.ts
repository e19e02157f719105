/**
 * The set-up the Kubernetes source's integration specs share: a test API server per test, a
 * kubeconfig naming it as one cluster, and an Eventline on a temp SQLite file watching it through
 * that kubeconfig. Everything a test started is stopped, and its files removed, after it.
 */
import { afterEach, beforeEach } from 'vitest'
import type { EventlineConfig } from '../eventline.ts'
import { writeKubeconfig } from './kubeconfig.ts'
import { startKubernetesApiServer } from './kubernetesApiServer.ts'
import type { KubernetesApiServer } from './kubernetesApiServer.ts'
import { restartableTestServer } from './testServer.ts'
import type { RestartableTestServer, TestServer } from './testServer.ts'

/** The Kubernetes source's tuning, as Eventline takes it. */
export type KubernetesTuning = NonNullable<EventlineConfig['kubernetesTuning']>

export interface KubernetesHarnessOptions {
  /** Cluster name in the kubeconfig: the mesh the source records under. */
  cluster: string
  /** The source's tuning where `start` is given none. */
  tuning: KubernetesTuning
}

export interface KubernetesHarness {
  /** The test's API server, started before each test. */
  readonly api: KubernetesApiServer
  /** The test's Eventline; throws before `start` or after `stop`. */
  readonly eventline: TestServer
  /** Starts Eventline on the test's database, watching the test API server through the kubeconfig. */
  start(tuning?: KubernetesTuning): Promise<TestServer>
  /** Stops Eventline, keeping its database (and so its checkpoints) for the next `start`. */
  stop(): Promise<void>
}

/**
 * Registers, in the calling `describe`, hooks that start a test API server, its kubeconfig and a
 * temp directory before each test and stop them (and any Eventline) after it; returns the harness
 * those tests use.
 */
export function useKubernetesHarness(options: KubernetesHarnessOptions): KubernetesHarness {
  let api: KubernetesApiServer | undefined
  let kubeconfig: ReturnType<typeof writeKubeconfig> | undefined
  let eventline: RestartableTestServer | undefined

  beforeEach(async () => {
    api = await startKubernetesApiServer()
    kubeconfig = writeKubeconfig({ server: api.url, token: api.token, cluster: options.cluster })
    eventline = restartableTestServer()
  })
  afterEach(async () => {
    await eventline?.close()
    eventline = undefined
    await api?.close()
    api = undefined
    kubeconfig?.cleanup()
    kubeconfig = undefined
  })

  const harness: KubernetesHarness = {
    get api() {
      if (!api) throw new Error('the test API server runs only within a test')
      return api
    },
    get eventline() {
      return eventline!.current
    },
    start: (tuning = options.tuning) => eventline!.start({ kubernetes: { mode: 'kubeconfig', path: kubeconfig!.path }, kubernetesTuning: tuning }),
    stop: () => eventline!.stop(),
  }
  return harness
}
