/**
 * A renderer for the small part of Helm's template language that deploy/helm/eventline uses, so
 * the chart can be rendered and checked without a `helm` binary (Debian does not package one):
 * `{{ .Values.x.y }}`, `.Release.Name`, `.Release.Namespace`, `.Chart.Name`, `.Chart.Version`,
 * string literals, the pipeline functions `quote`, `toYaml`, `indent N`, `nindent N`, the
 * `{{- ... -}}` whitespace trimming, and `if` / `else` / `end` with Go's truthiness.
 *
 * Anything else in a template is an error, not a guess: a chart change that needs more of the
 * language fails the chart test until this renderer (or a real `helm template`) covers it. It is
 * stricter than Helm in one way: a value that is missing is an error, where Helm prints `<no value>`.
 */
import { stringify } from 'yaml'

export interface RenderContext {
  Values: Record<string, unknown>
  Release: { Name: string; Namespace: string }
  Chart: { Name: string; Version: string }
}

type Node = { text: string } | { expr: string } | { cond: string; then: Node[]; else: Node[] }

/** Splits text and actions, applying the trim markers. */
function tokens(template: string): Array<{ text: string } | { action: string }> {
  const out: Array<{ text: string } | { action: string }> = []
  let rest = template
  for (;;) {
    const open = rest.indexOf('{{')
    if (open === -1) {
      out.push({ text: rest })
      return out
    }
    const close = rest.indexOf('}}', open)
    if (close === -1) throw new Error('unclosed {{')
    let text = rest.slice(0, open)
    let action = rest.slice(open + 2, close)
    if (action.startsWith('-')) {
      text = text.replace(/\s+$/, '')
      action = action.slice(1)
    }
    let after = rest.slice(close + 2)
    if (action.endsWith('-')) {
      action = action.slice(0, -1)
      after = after.replace(/^\s+/, '')
    }
    out.push({ text }, { action: action.trim() })
    rest = after
  }
}

function parse(template: string): Node[] {
  const root: Node[] = []
  const stack: Array<{ node: Extract<Node, { cond: string }>; inElse: boolean }> = []
  const target = () => (stack.length === 0 ? root : stack.at(-1)!.inElse ? stack.at(-1)!.node.else : stack.at(-1)!.node.then)
  for (const token of tokens(template)) {
    if ('text' in token) {
      if (token.text) target().push({ text: token.text })
      continue
    }
    const { action } = token
    if (action.startsWith('if ')) {
      const node = { cond: action.slice(3).trim(), then: [], else: [] }
      target().push(node)
      stack.push({ node, inElse: false })
    } else if (action === 'else') {
      if (stack.length === 0 || stack.at(-1)!.inElse) throw new Error('else without if')
      stack.at(-1)!.inElse = true
    } else if (action === 'end') {
      if (!stack.pop()) throw new Error('end without if')
    } else if (/^(define|include|range|with|template|block|tpl|\/\*)/.test(action)) {
      throw new Error(`unsupported template action: {{ ${action} }}`)
    } else {
      target().push({ expr: action })
    }
  }
  if (stack.length > 0) throw new Error('if without end')
  return root
}

function lookup(path: string, context: RenderContext): unknown {
  if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(path)) throw new Error(`unsupported term: ${path}`)
  let value: unknown = context
  for (const key of path.slice(1).split('.')) {
    if (value === null || typeof value !== 'object' || !(key in value)) throw new Error(`no value at ${path}`)
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

function evaluate(expression: string, context: RenderContext): unknown {
  const [first, ...functions] = expression.split('|').map((part) => part.trim())
  // `fn args term` is `term | fn args` (Go passes the piped value as the last argument).
  const words = first!.split(/\s+/)
  const head = words.at(-1)!
  if (words.length > 1) functions.unshift(words.slice(0, -1).join(' '))
  let value: unknown = /^"[^"\\]*"$/.test(head) ? head.slice(1, -1) : lookup(head, context)
  for (const call of functions) {
    const [name, ...args] = call.split(/\s+/)
    const number = () => {
      const n = Number(args[0])
      if (args.length !== 1 || !Number.isInteger(n)) throw new Error(`${name} needs one integer argument`)
      return n
    }
    switch (name) {
      case 'quote':
        value = JSON.stringify(value === undefined || value === null ? '' : String(value))
        break
      case 'toYaml':
        value = stringify(value).replace(/\n$/, '')
        break
      case 'indent':
        value = indent(String(value), number())
        break
      case 'nindent':
        value = `\n${indent(String(value), number())}`
        break
      default:
        throw new Error(`unsupported template function: ${name}`)
    }
  }
  return value
}

const indent = (text: string, by: number) =>
  text
    .split('\n')
    .map((line) => ' '.repeat(by) + line)
    .join('\n')

/** Go templates: false, 0, nil and empty strings, lists and maps are false. */
function truthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false
  if (Array.isArray(value)) return value.length > 0
  if (typeof value === 'object') return Object.keys(value).length > 0
  return true
}

function render(nodes: Node[], context: RenderContext): string {
  let out = ''
  for (const node of nodes) {
    if ('text' in node) out += node.text
    else if ('expr' in node) {
      const value = evaluate(node.expr, context)
      if (value !== null && typeof value === 'object') throw new Error(`{{ ${node.expr} }} is a map or list: pipe it through toYaml`)
      out += String(value)
    } else out += render(truthy(evaluate(node.cond, context)) ? node.then : node.else, context)
  }
  return out
}

export function renderTemplate(template: string, context: RenderContext): string {
  return render(parse(template), context)
}

/** Values merged as Helm merges `--set`/`-f` over values.yaml: maps deeply, everything else replaced. */
export function mergeValues(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(override)) {
    const current = out[key]
    const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
    out[key] = isMap(current) && isMap(value) ? mergeValues(current, value) : value
  }
  return out
}
