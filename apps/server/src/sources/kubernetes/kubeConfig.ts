/**
 * Loads the client configurations the contract's `EVENTLINE_KUBERNETES` and
 * `EVENTLINE_KUBE_CONTEXTS` settings name: one per chosen kubeconfig context, each its own mesh
 * (what Headlamp does with one kubeconfig of several clusters), or the in-cluster service account
 * (always one cluster).
 *
 * Known limits: a context's exec credential plugin runs synchronously inside client-node
 * (`spawnSync`), so a slow plugin for one cluster holds the event loop for all of them; tokens,
 * client certificates and auth-provider tokens do not.
 */
import { KubeConfig } from '@kubernetes/client-node'
import { ConfigError } from '../../config.ts'
import type { KubernetesSetting } from '../../config.ts'

const VARIABLE = 'EVENTLINE_KUBERNETES'
const CONTEXTS = 'EVENTLINE_KUBE_CONTEXTS'
const CLUSTER = 'EVENTLINE_CLUSTER'
const MESH_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

/** One cluster to watch: its client configuration (current context set) and its mesh name. */
export interface KubeCluster {
  kubeConfig: KubeConfig
  cluster: string
  /** The kubeconfig context it comes from (absent in-cluster). */
  context?: string
}

function load(setting: Exclude<KubernetesSetting, { mode: 'off' }>): KubeConfig {
  const kubeConfig = new KubeConfig()
  try {
    if (setting.mode === 'in-cluster') kubeConfig.loadFromCluster()
    else kubeConfig.loadFromFile(setting.path)
  } catch (error) {
    const where = setting.mode === 'in-cluster' ? 'the in-cluster service account' : `kubeconfig ${setting.path}`
    throw new ConfigError(VARIABLE, `${where} does not load: ${(error as Error).message}`)
  }
  return kubeConfig
}

/**
 * The clusters to watch. In-cluster: one, named `cluster` or `kubernetes`. From a kubeconfig: the
 * chosen `contexts` (`['*']` = every context, absent = the current one), each named after its
 * cluster, or after the context when two chosen contexts share a cluster; `cluster` renames the
 * only one and is refused with several. A file that does not load, an unknown context or a name
 * that is not a valid mesh name is invalid configuration (exit 2), not a source that fails later.
 */
export function loadKubeClusters(setting: Exclude<KubernetesSetting, { mode: 'off' }>, cluster?: string, contexts?: readonly string[]): KubeCluster[] {
  if (setting.mode === 'in-cluster') {
    if (contexts !== undefined) throw new ConfigError(CONTEXTS, 'names kubeconfig contexts, but the in-cluster service account has none (one cluster); unset it')
    return [{ kubeConfig: load(setting), cluster: checkName(cluster ?? 'kubernetes', CLUSTER) }]
  }
  const base = load(setting)
  const known = base.getContexts()
  let names: string[]
  if (contexts === undefined) {
    if (!base.getCurrentCluster()) throw new ConfigError(VARIABLE, `${setting.path} has no current context with a cluster`)
    names = [base.getCurrentContext()]
  } else if (contexts.length === 1 && contexts[0] === '*') {
    names = known.map((context) => context.name)
    if (names.length === 0) throw new ConfigError(CONTEXTS, `* chooses every context, but ${setting.path} has none`)
  } else {
    names = [...new Set(contexts)]
  }
  if (names.length > 1 && cluster !== undefined) {
    throw new ConfigError(CLUSTER, `names one mesh, but ${names.length} contexts are chosen (${CONTEXTS}); each is named after its cluster`)
  }
  const clusterOf = new Map<string, string>()
  for (const name of names) {
    const context = known.find((candidate) => candidate.name === name)
    if (!context) throw new ConfigError(CONTEXTS, `context "${name}" is not in ${setting.path} (it has: ${known.map((each) => each.name).join(', ') || 'none'})`)
    if (!base.getCluster(context.cluster)) throw new ConfigError(CONTEXTS, `context "${name}" names cluster "${context.cluster}", which ${setting.path} does not define`)
    clusterOf.set(name, context.cluster)
  }
  const shared = new Map<string, number>()
  for (const clusterName of clusterOf.values()) shared.set(clusterName, (shared.get(clusterName) ?? 0) + 1)
  const meshes = new Set<string>()
  return names.map((name) => {
    const clusterName = clusterOf.get(name)!
    const mesh = cluster ?? (shared.get(clusterName)! > 1 ? name : clusterName)
    checkName(mesh, names.length === 1 ? CLUSTER : CONTEXTS, name)
    if (meshes.has(mesh)) throw new ConfigError(CONTEXTS, `two chosen contexts would both be mesh "${mesh}"; choose one of them`)
    meshes.add(mesh)
    // One KubeConfig per context: the current context decides the server, user and namespace
    // every request of that cluster's watches uses.
    const kubeConfig = names.length === 1 ? base : load(setting)
    kubeConfig.setCurrentContext(name)
    return { kubeConfig, cluster: mesh, context: name }
  })
}

function checkName(mesh: string, variable: string, context?: string): string {
  if (MESH_NAME.test(mesh)) return mesh
  const what = context === undefined ? `"${mesh}"` : `"${mesh}" (context "${context}")`
  const fix = variable === CLUSTER ? 'set a valid EVENTLINE_CLUSTER' : 'rename the cluster or context in the kubeconfig'
  throw new ConfigError(variable, `${what} is not a valid mesh name (letters, digits, ".", "_", "-"; at most 63); ${fix}`)
}
