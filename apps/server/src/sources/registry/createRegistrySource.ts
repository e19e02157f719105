/**
 * Builds the source of one `EVENTLINE_REGISTRIES` entry. Each client library is loaded only when a
 * registry of its kind is configured.
 */
import type { RegistryConfig } from '../../config.ts'
import type { Source, SourceContext } from '../source.ts'

/** Timings the tests shorten (reconnect backoff, poll intervals, timeouts); defaults suit production. */
export interface RegistryTuning {
  zookeeper?: Record<string, unknown>
  nacos?: Record<string, unknown>
}

export async function createRegistrySource(registry: RegistryConfig, _tuning: RegistryTuning = {}): Promise<Source> {
  switch (registry.scheme) {
    case 'zookeeper':
    case 'nacos':
      // Replaced by the ZooKeeper and Nacos sources (issue 5).
      return new PendingRegistrySource(registry)
  }
}

class PendingRegistrySource implements Source {
  readonly mesh: string
  readonly kind: RegistryConfig['scheme']
  readonly address: string

  constructor(registry: RegistryConfig) {
    this.mesh = registry.name
    this.kind = registry.scheme
    this.address = registry.address
  }

  async start(context: SourceContext): Promise<void> {
    context.setStatus('error', `${this.kind} registries are not supported by this version yet`)
  }

  async stop(): Promise<void> {}
}
