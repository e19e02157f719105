/**
 * What a source is given and what it must implement. A source connects to its origin, normalises
 * what it sees and publishes it; it never touches the store directly.
 */
import type { MeshKind, MeshStatus } from '@eventline/shared'
import type { Publication } from '../bus.ts'
import type { Logger } from '../log.ts'

export interface SourceContext {
  /**
   * Publishes events, catalog changes and checkpoints; resolves once they are stored. Checkpoint
   * keys are the source's own (`events-rv`): the context scopes them to the mesh, as `readCheckpoint` does.
   */
  publish(publication: Publication): Promise<void>
  /** Reads a checkpoint this source stored with an earlier publication. */
  readCheckpoint(key: string): Promise<string | undefined>
  /**
   * Reads every checkpoint of this source whose key starts with `prefix`, keyed by the rest of the
   * key: how a registry source reloads the node state it stored node by node.
   */
  readCheckpoints(prefix: string): Promise<Map<string, string>>
  /** Reports the mesh's connection state (`/meshes`, and the ingestion periods behind `/gaps`). */
  setStatus(status: MeshStatus, error?: string): void
  /**
   * Reports that ingestion resumed in a way that may have lost events for good, e.g. `relist-410`
   * (a Kubernetes watch whose resourceVersion expired, listed again): the gap before is marked.
   */
  reportLossyResume?(how: string): void
  /** Counts and logs a malformed object that was skipped, with enough context to find it. */
  reportMalformed(reason: string, context: Record<string, unknown>): void
  log: Logger
}

export interface Source {
  readonly mesh: string
  readonly kind: MeshKind
  /** Where it reads from, shown in `/meshes` (never with credentials). */
  readonly address: string
  /** Starts ingesting; resolves once started (not when the source ends). */
  start(context: SourceContext): Promise<void>
  /** Stops watching and resolves once nothing more will be published. */
  stop(): Promise<void>
}
