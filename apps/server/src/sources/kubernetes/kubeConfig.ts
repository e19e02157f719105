/** Loads the client configuration the contract's `EVENTLINE_KUBERNETES` setting names. */
import { KubeConfig } from '@kubernetes/client-node'
import { ConfigError } from '../../config.ts'
import type { KubernetesSetting } from '../../config.ts'

const VARIABLE = 'EVENTLINE_KUBERNETES'

/**
 * A KubeConfig from a kubeconfig file (token, client certificate or exec credentials, as the file
 * says) or the in-cluster service account, and the cluster's mesh name: `cluster` when given,
 * else the current context's cluster (`kubernetes` in-cluster). A file that does not load is
 * invalid configuration (exit 2), not a source that fails later.
 */
export function loadKubeConfig(setting: Exclude<KubernetesSetting, { mode: 'off' }>, cluster?: string): { kubeConfig: KubeConfig; cluster: string } {
  const kubeConfig = new KubeConfig()
  try {
    if (setting.mode === 'in-cluster') kubeConfig.loadFromCluster()
    else kubeConfig.loadFromFile(setting.path)
  } catch (error) {
    const where = setting.mode === 'in-cluster' ? 'the in-cluster service account' : `kubeconfig ${setting.path}`
    throw new ConfigError(VARIABLE, `${where} does not load: ${(error as Error).message}`)
  }
  const current = kubeConfig.getCurrentCluster()
  if (!current) throw new ConfigError(VARIABLE, `${setting.mode === 'kubeconfig' ? setting.path : 'in-cluster configuration'} has no current context with a cluster`)
  const name = cluster ?? (setting.mode === 'in-cluster' ? 'kubernetes' : current.name)
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    throw new ConfigError('EVENTLINE_CLUSTER', `the current context's cluster "${name}" is not a valid mesh name; set EVENTLINE_CLUSTER`)
  }
  return { kubeConfig, cluster: name }
}
