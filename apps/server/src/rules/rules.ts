/** The rules of `eventline.yaml`, compiled once: what is stored, where it is forwarded, what alerts. */
import type { IngestEvent } from '../store/types.ts'
import { AlertGrouper, MAX_OPEN_GROUPS } from './alertGrouper.ts'
import type { FileConfig } from './fileConfig.ts'
import { compileSelector } from './matcher.ts'
import type { EventPredicate } from './matcher.ts'

export interface Rules {
  /** The ingestion filter: false drops the event before it is stored (and forwarded or alerted). */
  keep(event: IngestEvent): boolean
  /**
   * Names of the sinks that forward this (kept) event, in file order: sinks whose route selects it,
   * and catch-all sinks (no route, not an alert target). Alert-only sinks never appear here.
   */
  sinksFor(event: IngestEvent): string[]
  /** Alert rules with their open groups; feed it kept, stored events and `flush` it on a timer. */
  alerts: AlertGrouper
}

export interface RulesOptions {
  /** Cap on open alert groups (default `MAX_OPEN_GROUPS`). */
  maxAlertGroups?: number
}

/**
 * Compiles the rules of a config file; without one, every event is kept, none is forwarded and
 * nothing alerts.
 *
 * ```ts
 * const rules = compileRules(config.file)
 * // Filter events only: the batch's checkpoints and catalog changes still advance.
 * const events = batch.events.filter((event) => rules.keep(event))
 * const outbox = events.flatMap((event) => rules.sinksFor(event).map((sink) => ({ sink, eventId: event.id })))
 * const stored = await store.writeBatch({ ...batch, events, outbox })
 * // Alerts need the stored item (its accumulated count); a retried write of the same event is
 * // not counted again while its group is open.
 * const published = new Map(events.map((event) => [event.id, event]))
 * const alerts = stored.flatMap(({ item }) => rules.alerts.observe(published.get(item.id)!, item, Date.now()))
 * // ...and every few seconds: rules.alerts.flush(Date.now()); both go to the outbox as { sink: alert.sink, alert }.
 * ```
 */
export function compileRules(file: FileConfig | undefined, options: RulesOptions = {}): Rules {
  const keep: EventPredicate = file?.ingest ? compileSelector(file.ingest) : () => true
  const routes = new Map((file?.routes ?? []).map((route) => [route.name, compileSelector(route)]))
  const forwarding: Array<{ sink: string; selects: EventPredicate }> = []
  for (const sink of file?.sinks ?? []) {
    const events = file!.sinkEvents[sink.name]
    if (events === 'all') forwarding.push({ sink: sink.name, selects: () => true })
    else if (events !== undefined && events !== 'alerts-only') forwarding.push({ sink: sink.name, selects: routes.get(events.route)! })
  }
  return {
    keep,
    sinksFor: (event) => forwarding.filter(({ selects }) => selects(event)).map(({ sink }) => sink),
    alerts: new AlertGrouper(file?.alerts ?? [], options.maxAlertGroups ?? MAX_OPEN_GROUPS),
  }
}
