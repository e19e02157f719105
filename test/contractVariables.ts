/** The configuration variables of CONTRACT.md section 1, exactly: deployment files may set no others. */
export const CONTRACT_VARIABLES: readonly string[] = [
  'EVENTLINE_PORT',
  'EVENTLINE_HOST',
  'EVENTLINE_DB',
  'EVENTLINE_KUBERNETES',
  'EVENTLINE_CLUSTER',
  'EVENTLINE_REGISTRIES',
  'EVENTLINE_RETENTION',
  'EVENTLINE_TOKEN',
  'EVENTLINE_DEMO',
  'EVENTLINE_LOG_LEVEL',
  // Issue 6: the config file (sinks, rules, alerts); a deployment mounts it and points here.
  'EVENTLINE_CONFIG',
  // Issue 12: the kubeconfig contexts to watch (also `--context`).
  'EVENTLINE_KUBE_CONTEXTS',
]
