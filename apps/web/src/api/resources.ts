import type { ApplicationDetail, ApplicationSummary, Instance, Page, ServiceDetail, ServiceSummary } from '@eventline/shared'
import { getJson } from './client.ts'

/** Query of a catalog list (`?mesh&q&limit&cursor`, plus `application` for instances). */
export interface ResourceListQuery {
  mesh?: string
  q?: string
  application?: string
  limit?: number
  cursor?: string
}

export type ResourceKind = 'applications' | 'instances' | 'services'

/** What each catalog list and detail endpoint answers. */
export interface ResourceTypes {
  applications: { summary: ApplicationSummary; detail: ApplicationDetail }
  instances: { summary: Instance; detail: Instance }
  services: { summary: ServiceSummary; detail: ServiceDetail }
}

/** `GET /api/v1/<kind>`: one keyset page of the catalog. */
export function listResources<K extends ResourceKind>(kind: K, query: ResourceListQuery, signal?: AbortSignal) {
  return getJson<Page<ResourceTypes[K]['summary']>>(`/${kind}`, { query: { ...query }, signal })
}

/** `GET /api/v1/<kind>/<name>?mesh=`: what the catalog knows of one entity; `ApiError` 404 when unknown. */
export function getResource<K extends ResourceKind>(kind: K, name: string, mesh: string | undefined, signal?: AbortSignal) {
  return getJson<ResourceTypes[K]['detail']>(`/${kind}/${encodeURIComponent(name)}`, { query: { mesh }, signal })
}
