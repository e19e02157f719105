import type { Instance } from '@eventline/shared'

/** `ip:port`, or the IP alone, or nothing: how an instance is reached. */
export function instanceAddress(instance: Pick<Instance, 'ip' | 'port'>): string {
  if (!instance.ip) return ''
  return instance.port === undefined ? instance.ip : `${instance.ip}:${instance.port}`
}
