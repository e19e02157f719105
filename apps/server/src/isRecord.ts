/** A plain JSON object (not null, not an array): what parsers of remote answers check before reading fields. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
