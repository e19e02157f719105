/**
 * Dubbo URLs as they appear in ZooKeeper node names: `dubbo://10.0.0.7:20880/org.x.DemoService?application=...`
 * (providers), `consumer://10.0.0.8/org.x.DemoService?...` (consumers), `override://` and
 * `route://` (Dubbo 2.6 configurators and routers). The node name is the URL, URL-encoded once.
 */

import { instanceAddress } from '../registry/address.ts'

/** A parse result: the value, or why there is none (the node is then reported as malformed). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string }

/** A parsed Dubbo URL. */
export interface DubboUrl {
  protocol: string
  /** Host or IP as written (an IPv6 address without its brackets). */
  host: string
  /** Absent when the URL has none (consumers) or it is 0. */
  port?: number
  /** The path: the interface for providers and consumers. */
  path: string
  params: Record<string, string>
}

const URL_PATTERN = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:[^@/?#]*@)?(\[[0-9A-Fa-f:.]+\]|[^/?#:]*)(?::(\d*))?(?:\/([^?#]*))?(?:\?([^#]*))?(?:#.*)?$/

/**
 * Decodes a node name (the URL-encoded URL) and parses it. Java Dubbo encodes with
 * `URLEncoder` (a space becomes `+`, a `+` becomes `%2B`), so a `+` in a node name is a space.
 */
export function parseDubboUrlNode(name: string): Parsed<DubboUrl> {
  let decoded: string
  try {
    decoded = decodeURIComponent(name.replaceAll('+', ' '))
  } catch {
    return { ok: false, reason: 'node name is not a URL-encoded URL' }
  }
  return parseDubboUrl(decoded)
}

/**
 * Parses a Dubbo URL. Parameter values are decoded once more where they are encoded (Dubbo
 * encodes the whole URL for the node name and leaves values such as `methods=a,b` as they are).
 */
export function parseDubboUrl(text: string): Parsed<DubboUrl> {
  const match = URL_PATTERN.exec(text)
  if (!match) return { ok: false, reason: 'not a Dubbo URL (protocol://host[:port]/path?params)' }
  const [, protocol, rawHost, rawPort, path, query] = match
  const host = rawHost!.startsWith('[') ? rawHost!.slice(1, -1) : rawHost!
  if (host === '') return { ok: false, reason: 'URL has no host' }
  const url: DubboUrl = { protocol: protocol!.toLowerCase(), host, path: path ?? '', params: {} }
  if (rawPort !== undefined && rawPort !== '') {
    const port = Number(rawPort)
    if (!Number.isInteger(port) || port > 65535) return { ok: false, reason: `URL port "${rawPort}" is not a port` }
    if (port > 0) url.port = port
  }
  for (const pair of (query ?? '').split('&')) {
    if (pair === '') continue
    const equals = pair.indexOf('=')
    const key = safeDecode(equals < 0 ? pair : pair.slice(0, equals))
    const value = equals < 0 ? '' : safeDecode(pair.slice(equals + 1))
    if (key !== '') url.params[key] = value
  }
  return { ok: true, value: url }
}

function safeDecode(text: string): string {
  if (!text.includes('%')) return text
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** `ip:port`, or the host alone when the URL has no port (a consumer's address). */
export function urlAddress(url: DubboUrl): string {
  return instanceAddress(url.host, url.port)
}

/**
 * The interface a URL is about: its `interface` parameter, else its path (empty when it has
 * neither, as SOFA / egg providers may write it: the caller falls back to the znode's parent).
 */
export function urlInterface(url: DubboUrl): string {
  return url.params.interface || url.path
}

/**
 * The application a URL names: `application=`, else `appName=` (SOFA / egg Dubbo clients write
 * only the latter); undefined when it names none.
 */
export function urlApplication(url: DubboUrl): string | undefined {
  return url.params.application || url.params.appName || undefined
}

/** Dubbo's service key: `group/interface:version`, each part only when set. */
export function serviceKey(service: string, version?: string, group?: string): string {
  return `${group ? `${group}/` : ''}${service}${version ? `:${version}` : ''}`
}

/** Methods of a provider URL (`methods=a,b`), in order; empty when it names none. */
export function urlMethods(url: DubboUrl): string[] {
  return (url.params.methods ?? '').split(',').filter(Boolean)
}
