/** Builds the sink a configuration describes. */
import type { Logger } from '../log.ts'
import { ElasticsearchSink } from './elasticsearchSink.ts'
import { LokiSink } from './lokiSink.ts'
import { NatsSink } from './natsSink.ts'
import type { NatsSinkOptions } from './natsSink.ts'
import type { Sink } from './sink.ts'
import type { SinkConfig } from './types.ts'
import { WebhookSink } from './webhookSink.ts'
import type { WebhookSinkOptions } from './webhookSink.ts'

/** A sink for `config`; nothing connects until its delivery loop opens it. */
export function createSink(config: SinkConfig, log: Logger, nats: NatsSinkOptions = {}, webhook: WebhookSinkOptions = {}): Sink {
  switch (config.type) {
    case 'nats':
      return new NatsSink(config, log, nats)
    case 'webhook':
      return new WebhookSink(config, webhook)
    case 'loki':
      return new LokiSink(config)
    case 'elasticsearch':
      return new ElasticsearchSink(config)
  }
}
