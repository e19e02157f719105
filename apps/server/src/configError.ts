/**
 * The error of an invalid setting or config file. Its own module so `rules/fileConfig.ts` can throw
 * it without importing `config.ts`, which imports the file loader (no import cycle).
 */
export class ConfigError extends Error {
  constructor(
    /** What is wrong, as the operator wrote it: a variable, a flag, or `file: path (line n)`. */
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`${variable}: ${reason}`)
    this.name = 'ConfigError'
  }
}
