/**
 * One Eventline replica as its own process, for the failover tests: the real composition root
 * (`startEventline`) with settings from a JSON argument, including lease timings shorter than
 * production's (so a test waits seconds, not tens of seconds), which are not operator settings.
 * Prints one JSON line `{ url, holder }` on stdout once serving; logs go to stderr. SIGTERM stops
 * it gracefully; the tests also `kill -9` and SIGSTOP it. `startReplica` (replicaCluster.ts)
 * spawns it.
 */
import { loadConfig, parseRegistries } from '../config.ts'
import { startEventline } from '../eventline.ts'
import type { EventlineConfig } from '../eventline.ts'
import { createLogger } from '../log.ts'
import { TEST_RETENTION_MS } from './testServer.ts'
import type { LeadershipOptions } from '../replica/leadership.ts'

export interface ReplicaSettings {
  db: string
  registries?: string
  leadership?: LeadershipOptions
  token?: string
  /** An `eventline.yaml` path, read as `--config` with `configEnv` as its environment. */
  config?: string
  configEnv?: Record<string, string>
  /** How often alert windows are closed (ms). */
  alertFlushMs?: number
  /** A kubeconfig path: the Kubernetes source of its current context. */
  kubeconfig?: string
}

const settings = JSON.parse(process.argv[2] ?? '{}') as ReplicaSettings
const file = settings.config ? loadConfig(['--config', settings.config], settings.configEnv ?? {}).file : undefined
const config: EventlineConfig = {
  port: 0,
  host: '127.0.0.1',
  db: settings.db,
  retentionMs: TEST_RETENTION_MS,
  demo: false,
  registries: settings.registries ? parseRegistries(settings.registries) : [],
  registryTuning: { zookeeper: { spinDelayMs: 50, retryMs: 200 } },
  ...(settings.leadership ? { leadership: settings.leadership } : {}),
  ...(settings.token ? { token: settings.token } : {}),
  ...(file ? { file } : {}),
  ...(settings.alertFlushMs === undefined ? {} : { alerting: { flushIntervalMs: settings.alertFlushMs } }),
  ...(settings.kubeconfig
    ? {
        kubernetes: { mode: 'kubeconfig', path: settings.kubeconfig },
        kubernetesTuning: { backoff: { initialMs: 20, maxMs: 200 }, enrichmentWaitMs: 2_000 },
      }
    : {}),
  liveFeed: { pollMs: 1_000 },
}
const log = createLogger('info', (line) => process.stderr.write(line))
const eventline = await startEventline(config, log)
process.stdout.write(`${JSON.stringify({ url: eventline.url, holder: eventline.leadership.holder })}\n`)
process.on('SIGTERM', () => {
  void eventline.stop().then(() => process.exit(0))
})
