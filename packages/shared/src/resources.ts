/** Resource shapes of CONTRACT section 3 (meshes and the catalog). */

export const MESH_KINDS = ['kubernetes', 'zookeeper', 'nacos', 'demo', 'api'] as const
export type MeshKind = (typeof MESH_KINDS)[number]

export const MESH_STATUSES = ['connected', 'connecting', 'error', 'disabled'] as const
export type MeshStatus = (typeof MESH_STATUSES)[number]

export interface MeshCounts {
  applications: number
  instances: number
  services: number
  events: number
}

export interface Mesh {
  name: string
  kind: MeshKind
  address: string
  status: MeshStatus
  error?: string
  lastSyncAt?: string
  counts: MeshCounts
}

export interface ApplicationSummary {
  name: string
  mesh: string
  instanceCount: number
  serviceCount: number
  lastEventAt?: string
  warningCount24h: number
}

export interface Instance {
  name: string
  mesh: string
  ip?: string
  port?: number
  application?: string
  namespace?: string
  node?: string
  phase?: string
  registered: boolean
  sources: string[]
  /** Pod labels, or registry metadata, as last reported. */
  labels?: Record<string, string>
}

export interface ApplicationDetail {
  name: string
  mesh: string
  instances: Instance[]
  services: string[]
}

export interface ServiceSummary {
  name: string
  mesh: string
  version?: string
  group?: string
  providers: number
  consumers: number
  applications: string[]
}

export interface ServiceDetail extends ServiceSummary {
  providerInstances: Instance[]
  consumerInstances: Instance[]
}
