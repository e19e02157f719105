import type { Mesh } from '@eventline/shared'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startApiServer } from '../testing/apiServer.ts'
import { useMeshesStore } from './meshes.ts'

const MESH: Mesh = {
  name: 'prod',
  kind: 'kubernetes',
  address: 'https://10.0.0.1:6443',
  status: 'connected',
  counts: { applications: 1, instances: 2, services: 3, events: 4 },
}

let server: Awaited<ReturnType<typeof startApiServer>> | undefined

beforeEach(() => {
  setActivePinia(createPinia())
})

afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('meshes store', () => {
  it('loads the meshes once for concurrent callers, and again when forced', async () => {
    let answers = 0
    server = await startApiServer({ '/api/v1/meshes': () => ({ body: { items: [{ ...MESH, counts: { ...MESH.counts, events: ++answers } }] }, delayMs: 20 }) })
    const store = useMeshesStore()
    await Promise.all([store.load(), store.load(), store.load()])
    expect(server.requests).toHaveLength(1)
    expect(store.meshes.map((mesh) => mesh.name)).toEqual(['prod'])
    await store.load()
    expect(server.requests).toHaveLength(1)
    await store.load(true)
    expect(server.requests).toHaveLength(2)
    expect(store.meshes[0]!.counts.events).toBe(2)
    expect(store.loading).toBe(false)
  })

  it('keeps the error of a failed load and clears it on the next success', async () => {
    let fail = true
    server = await startApiServer({
      '/api/v1/meshes': () => (fail ? { status: 500, body: { error: { code: 'internal', message: 'store closed' } } } : { body: { items: [MESH] } }),
    })
    const store = useMeshesStore()
    await store.load()
    expect(store.error?.message).toBe('store closed')
    expect(store.meshes).toEqual([])
    fail = false
    await store.load()
    expect(store.error).toBeNull()
    expect(store.meshes).toEqual([MESH])
  })
})
