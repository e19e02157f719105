import { createRequire } from 'node:module'
import type { Plugin } from 'vite'
import type * as Vue from 'vue'
import type * as ServerRenderer from 'vue/server-renderer'
import { DARK_TOKENS, LIGHT_TOKENS } from '../src/theme/tokens.ts'

/**
 * antd 4 writes its components' CSS at run time, the first time each appears: on a deep link that
 * was most of the main thread's work before the first event. This plugin renders the components
 * the console uses once at build time, in both themes, and serves their CSS as a static stylesheet
 * (`import 'virtual:antd-styles.css'` in components/AntdProvider.vue, so it comes with the first
 * antd chunk, never with a timeline's first rows). Its closing `.data-ant-cssinjs-cache-path` rule
 * lists what it holds; antd reads that when it styles its first component and skips generating and
 * injecting those styles. Anything not listed (a component added later, a token changed) still gets
 * styled at run time, only later: the stylesheet is a head start, never a requirement.
 *
 * `virtual:antd-tokens.css` (main.ts) holds the themes' tokens as CSS variables (tokenVariables),
 * which the console's own components read. The dev server gets the tokens and an empty component
 * stylesheet; the unit tests get two empty modules.
 */
const STYLES = 'virtual:antd-styles.css'
const TOKENS = 'virtual:antd-tokens.css'

// Every antd component the console renders (src/**/*.vue imports from 'ant-design-vue').
const COMPONENTS = [
  'Button', 'Switch', 'Tag', 'Alert', 'RadioGroup', 'RadioButton',
  'Select', 'InputSearch', 'InputPassword', 'Badge', 'Table', 'Space', 'Empty', 'Popover', 'Tooltip', 'Descriptions',
  'Skeleton', 'Result', 'Card',
] as const

async function renderStyles(components: boolean): Promise<{ tokens: string; styles: string }> {
  const require = createRequire(import.meta.url)
  const { h, createSSRApp } = require('vue') as typeof Vue
  const { renderToString } = require('vue/server-renderer') as typeof ServerRenderer
  const antd = require('ant-design-vue/lib') as Record<string, unknown> & { theme: { darkAlgorithm: unknown; defaultAlgorithm: unknown } }
  const { StyleProvider, createCache, extractStyle } = require('ant-design-vue/lib/_util/cssinjs') as {
    StyleProvider: object
    createCache: () => object
    extractStyle: (cache: object, plain?: boolean) => string
  }
  const cache = createCache()
  const themes = [
    { selector: ':root', algorithm: antd.theme.defaultAlgorithm, token: LIGHT_TOKENS },
    { selector: ":root[data-theme='dark']", algorithm: antd.theme.darkAlgorithm, token: DARK_TOKENS },
  ]
  let variables = ''
  for (const { selector, ...theme } of themes) {
    let token: Record<string, unknown> = {}
    const probe = {
      setup() {
        token = (antd.theme as unknown as { useToken: () => { token: { value: Record<string, unknown> } } }).useToken().token.value
        return () => null
      },
    }
    await renderToString(createSSRApp({ render: () => h(antd.ConfigProvider as object, { theme }, () => h(probe)) }))
    variables += tokenVariables(selector, token)
    if (!components) continue
    for (const name of COMPONENTS) {
      const component = antd[name] as object
      const app = createSSRApp({
        render: () => h(StyleProvider, { cache }, () => h(antd.ConfigProvider as object, { theme }, () => h(component, {}, () => 'x'))),
      })
      await renderToString(app)
    }
  }
  return { tokens: variables, styles: components ? extractStyle(cache, true) : '' }
}

/**
 * The theme's colours, font sizes and radii as CSS variables (`colorTextSecondary` becomes
 * `--ant-color-text-secondary`, sizes in px), one rule per theme keyed on `html[data-theme]`: the
 * console's own components read them, so the first page paints in the right theme without antd.
 */
function tokenVariables(selector: string, token: Record<string, unknown>): string {
  const lines: string[] = []
  for (const [name, value] of Object.entries(token)) {
    if (!/^(color|fontSize|borderRadius)/.test(name)) continue
    if (typeof value !== 'string' && typeof value !== 'number') continue
    const kebab = name.replace(/[A-Z0-9]+/g, (part) => `-${part.toLowerCase()}`)
    lines.push(`--ant-${kebab}:${typeof value === 'number' && !name.startsWith('color') ? `${value}px` : value};`)
  }
  return `${selector}{${lines.join('')}}\n`
}

export function antdStyles(): Plugin {
  let build = false
  let test = false
  let rendered: ReturnType<typeof renderStyles> | undefined
  return {
    name: 'eventline:antd-styles',
    configResolved(config) {
      build = config.command === 'build' && !config.build.ssr
      test = Boolean(process.env.VITEST)
    },
    resolveId(id) {
      return id === STYLES || id === TOKENS ? `\0${id}` : undefined
    },
    async load(id) {
      if (id !== `\0${STYLES}` && id !== `\0${TOKENS}`) return undefined
      if (test) return ''
      rendered ??= renderStyles(build)
      const { tokens, styles } = await rendered
      return id === `\0${TOKENS}` ? tokens : styles
    },
  }
}
