import type { MessageCompiler, MessageContext } from 'vue-i18n'

const PLACEHOLDER = /\{(\w+)\}/g

/**
 * Our messages use one feature of vue-i18n's syntax: named placeholders (`Showing {shown} of
 * {total}`). Compiling them here lets the console ship vue-i18n's runtime-only build, without its
 * general message compiler (about 30 kB gzip) and without evaluating generated code, which the
 * Content-Security-Policy forbids. A message using any other syntax (plurals `|`, linked `@:`) would
 * show literally: keep messages to plain text and `{name}`.
 */
export const compileMessage: MessageCompiler = (message) => {
  if (typeof message !== 'string') throw new TypeError('precompiled message resources are not supported')
  const parts = message.split(PLACEHOLDER)
  // `split` with a capture group alternates text and placeholder names: even indexes are text.
  return (context: MessageContext) =>
    parts.map((part, index) => (index % 2 === 0 ? part : String(context.named(part) ?? `{${part}}`))).join('')
}
