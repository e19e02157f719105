import type { ListResponse, Mesh } from '@eventline/shared'
import { getJson } from './client.ts'

/** `GET /api/v1/meshes`: every configured source with its status and counts. */
export const listMeshes = (signal?: AbortSignal) => getJson<ListResponse<Mesh>>('/meshes', { signal })
