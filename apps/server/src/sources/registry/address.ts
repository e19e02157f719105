/**
 * How a registry source names an instance. A provider or app-level instance: `10.0.0.7:20880`, `[2001:db8::1]:20880` for an IPv6
 * address (brackets whenever the ip contains `:`), or the ip alone when there is no port
 * (`10.0.0.8`, `2001:db8::1`, bracket-free). An ip that already comes in brackets is taken
 * without them, so it is never bracketed twice.
 */
export function instanceAddress(ip: string, port: number | undefined): string {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip
  if (port === undefined) return bare
  return bare.includes(':') ? `[${bare}]:${port}` : `${bare}:${port}`
}

/**
 * A consumer's instance: `<application>@<ip>` (`cart-web@10.5.0.9`). Consumer URLs carry no port,
 * so the application tells apart two consumer processes on one host; the IP stays bracket-free
 * (`cart-web@2001:db8::1`). Without an application (nothing names it) the IP alone, as a
 * consumer was named before; such consumers on one host remain one instance.
 */
export function consumerInstance(application: string | undefined, ip: string): string {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip
  return application ? `${application}@${bare}` : bare
}
