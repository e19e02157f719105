/**
 * What a Nacos service name says about Dubbo. Dubbo 2.7 registers one Nacos service per
 * interface, named `{category}:{interface}:{version}:{group}` with empty parts kept
 * (`providers:org.apache.dubbo.demo.DemoService::`). Dubbo 3's application-level discovery
 * registers one Nacos service per application, named after the application, and so does every
 * non-Dubbo client (Spring Cloud): for those the service name is the application.
 */

/** Dubbo categories that appear as Nacos service name prefixes. */
export const DUBBO_CATEGORIES = ['providers', 'consumers', 'configurators', 'routers'] as const
export type DubboCategory = (typeof DUBBO_CATEGORIES)[number]

export type DubboServiceName =
  | {
      kind: 'interface'
      category: DubboCategory
      /** `provider` / `consumer` for the two categories whose instances are processes. */
      side?: 'provider' | 'consumer'
      interface: string
      version?: string
      group?: string
    }
  | { kind: 'application'; application: string }

/**
 * Parses a Nacos service name (without its `GROUP@@` prefix). Anything that is not
 * `{category}:{interface}[:{version}[:{group}]]` with a known category is an application name, so
 * a name this code does not recognise still lands somewhere sensible rather than being dropped.
 */
export function parseDubboServiceName(name: string): DubboServiceName {
  const parts = name.split(':')
  const category = parts[0] as DubboCategory
  const iface = parts[1]
  // More than four parts cannot come from Dubbo (interfaces, versions and groups hold no ':').
  if (parts.length >= 2 && parts.length <= 4 && DUBBO_CATEGORIES.includes(category) && iface) {
    const parsed: DubboServiceName = { kind: 'interface', category, interface: iface }
    if (category === 'providers') parsed.side = 'provider'
    if (category === 'consumers') parsed.side = 'consumer'
    if (parts[2]) parsed.version = parts[2]
    if (parts[3]) parsed.group = parts[3]
    return parsed
  }
  return { kind: 'application', application: name }
}
