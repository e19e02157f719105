/** Kubeconfig files for tests: one or several clusters, each with its bearer-token user and context. */
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
  /** PEM of the CA that signed an `https://` server's certificate; without it TLS is not verified. */
  certificateAuthority?: string
}

/** YAML double-quoted scalar; JSON string syntax is valid YAML. */
const quote = (value: string) => JSON.stringify(value)

/**
 * A kubeconfig YAML document for `options`. The cluster sets `insecure-skip-tls-verify: true`:
 * client-node refuses an `http://` server without it ("HTTP protocol is not allowed when
 * skipTLSVerify is not set or false").
 */
export function kubeconfigYaml(options: KubeconfigOptions): string {
  return multiKubeconfigYaml([options])
}

/**
 * A kubeconfig of several contexts, one per entry (cluster and user named per entry; entries may
 * share a cluster name to model two contexts of one cluster). The first entry's context is current.
 */
export function multiKubeconfigYaml(entries: readonly KubeconfigOptions[]): string {
  const named = entries.map((options, index) => {
    const cluster = options.cluster ?? 'eventline-test'
    return { ...options, cluster, context: options.context ?? cluster, user: options.user ?? (index === 0 ? 'eventline-test-user' : `eventline-test-user-${index}`) }
  })
  const clusters = new Map(named.map((entry) => [entry.cluster, entry]))
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    ...[...clusters.values()].flatMap((entry) => [
      `- name: ${quote(entry.cluster)}`,
      '  cluster:',
      `    server: ${quote(entry.server)}`,
      entry.certificateAuthority !== undefined
        ? `    certificate-authority-data: ${quote(Buffer.from(entry.certificateAuthority).toString('base64'))}`
        : '    insecure-skip-tls-verify: true',
    ]),
    'users:',
    ...named.flatMap((entry) => [`- name: ${quote(entry.user)}`, '  user:', `    token: ${quote(entry.token)}`]),
    'contexts:',
    ...named.flatMap((entry) => [
      `- name: ${quote(entry.context)}`,
      '  context:',
      `    cluster: ${quote(entry.cluster)}`,
      `    user: ${quote(entry.user)}`,
      `    namespace: ${quote(entry.namespace ?? 'default')}`,
    ]),
    `current-context: ${quote(named[0]!.context)}`,
    'preferences: {}',
    '',
  ].join('\n')
}

/** Writes `kubeconfigYaml(options)` to a file in a new temp directory; `cleanup` removes the directory. */
export function writeKubeconfig(options: KubeconfigOptions | readonly KubeconfigOptions[]): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'eventline-kubeconfig-'))
  const path = join(dir, 'config')
  writeFileSync(path, multiKubeconfigYaml(Array.isArray(options) ? options : [options as KubeconfigOptions]), { mode: 0o600 })
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}
