/**
 * Builds the source of one `EVENTLINE_REGISTRIES` entry. Each client library is loaded only when a
 * registry of its kind is configured.
 */
import type { RegistryConfig } from '../../config.ts'
import type { NacosTuning } from '../nacos/nacosSource.ts'
import type { ZookeeperSourceOptions } from '../zookeeper/zookeeperSource.ts'
import type { Source } from '../source.ts'

/** Timings the tests shorten (reconnect backoff, poll intervals, timeouts); defaults suit production. */
export interface RegistryTuning {
  zookeeper?: ZookeeperSourceOptions
  nacos?: NacosTuning
}

export async function createRegistrySource(registry: RegistryConfig, tuning: RegistryTuning = {}): Promise<Source> {
  switch (registry.scheme) {
    case 'zookeeper': {
      const { ZookeeperSource } = await import('../zookeeper/zookeeperSource.ts')
      return new ZookeeperSource(registry, tuning.zookeeper)
    }
    case 'nacos': {
      const { NacosSource } = await import('../nacos/nacosSource.ts')
      return new NacosSource(registry, tuning.nacos)
    }
  }
}
