/**
 * The mesh selector's options: "all meshes" first, then the meshes grouped by kind (clusters,
 * then registries, then the demo and posted events), each group in name order. With several
 * clusters and registries a flat list mixes them; the groups answer "which of these are my
 * clusters" at a glance, as Headlamp's cluster chooser does.
 */
import type { Mesh, MeshKind } from '@eventline/shared'

export interface MeshOption {
  value: string
  label: string
  mesh?: Mesh
}

export interface MeshGroup {
  /** The kind, for the group's heading; `key` keeps ant-design's group rendering stable. */
  kind: MeshKind
  key: string
  label: string
  options: MeshOption[]
}

const KIND_ORDER: readonly MeshKind[] = ['kubernetes', 'zookeeper', 'nacos', 'demo', 'api']

/**
 * `all` heads the list; a mesh the URL names but the list lacks (a deep link to a mesh not listed
 * yet) stays selectable on its own, after `all`; every listed mesh goes under its kind.
 */
export function meshOptions(meshes: readonly Mesh[], all: MeshOption, selected: string | undefined, kindLabel: (kind: MeshKind) => string): Array<MeshOption | MeshGroup> {
  const head: Array<MeshOption | MeshGroup> = [all]
  if (selected && !meshes.some((mesh) => mesh.name === selected)) head.push({ value: selected, label: selected })
  const byKind = new Map<MeshKind, Mesh[]>()
  for (const mesh of meshes) byKind.set(mesh.kind, [...(byKind.get(mesh.kind) ?? []), mesh])
  const kinds = [...byKind.keys()].sort((a, b) => rank(a) - rank(b))
  return [
    ...head,
    ...kinds.map((kind) => ({
      kind,
      key: `kind:${kind}`,
      label: kindLabel(kind),
      options: [...byKind.get(kind)!].sort((a, b) => a.name.localeCompare(b.name)).map((mesh) => ({ value: mesh.name, label: mesh.name, mesh })),
    })),
  ]
}

function rank(kind: MeshKind): number {
  const index = KIND_ORDER.indexOf(kind)
  return index === -1 ? KIND_ORDER.length : index
}
