/** Kubeconfig files for tests: one cluster, one bearer-token user, one current context. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface KubeconfigOptions {
  /** API server URL, e.g. the test API server's `url`. */
  server: string
  /** Bearer token of the user. */
  token: string
  /** Cluster name (what the Kubernetes source uses as its mesh name by default). Default `eventline-test`. */
  cluster?: string
  /** Context name, also the current context. Default: the cluster name. */
  context?: string
  /** User name. Default `eventline-test-user`. */
  user?: string
  /** Context namespace. Default `default`. */
  namespace?: string
}

/** YAML double-quoted scalar; JSON string syntax is valid YAML. */
const quote = (value: string) => JSON.stringify(value)

/**
 * A kubeconfig YAML document for `options`. The cluster sets `insecure-skip-tls-verify: true`:
 * client-node refuses an `http://` server without it ("HTTP protocol is not allowed when
 * skipTLSVerify is not set or false").
 */
export function kubeconfigYaml(options: KubeconfigOptions): string {
  const cluster = options.cluster ?? 'eventline-test'
  const context = options.context ?? cluster
  const user = options.user ?? 'eventline-test-user'
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${quote(cluster)}`,
    '  cluster:',
    `    server: ${quote(options.server)}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    `- name: ${quote(user)}`,
    '  user:',
    `    token: ${quote(options.token)}`,
    'contexts:',
    `- name: ${quote(context)}`,
    '  context:',
    `    cluster: ${quote(cluster)}`,
    `    user: ${quote(user)}`,
    `    namespace: ${quote(options.namespace ?? 'default')}`,
    `current-context: ${quote(context)}`,
    'preferences: {}',
    '',
  ].join('\n')
}

/** Writes `kubeconfigYaml(options)` to a file in a new temp directory; `cleanup` removes the directory. */
export function writeKubeconfig(options: KubeconfigOptions): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'eventline-kubeconfig-'))
  const path = join(dir, 'config')
  writeFileSync(path, kubeconfigYaml(options), { mode: 0o600 })
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}
