import { createRequire } from 'node:module'
import type { Plugin } from 'vite'
import type * as Vue from 'vue'
import type * as ServerRenderer from 'vue/server-renderer'
import { DARK_TOKENS, LIGHT_TOKENS } from '../src/theme/tokens.ts'

/**
 * antd 4 writes its components' CSS at run time, the first time each appears: on a deep link that
 * was most of the main thread's work before the first event. This plugin renders the components
 * the console uses once at build time, in both themes, and serves their CSS as a static stylesheet
 * (`import 'virtual:antd-styles.css'` in main.ts). Its closing `.data-ant-cssinjs-cache-path` rule
 * lists what it holds; antd reads that at start-up and skips generating and injecting those
 * styles. Anything not listed (a component added later, a token changed) still gets styled at run
 * time, only later: the stylesheet is a head start, never a requirement. Build only; the dev server
 * and the unit tests get an empty module.
 */
const ID = 'virtual:antd-styles.css'
const RESOLVED = `\0${ID}`

// Every antd component the console renders (src/**/*.vue imports from 'ant-design-vue').
const COMPONENTS = [
  'Layout', 'LayoutHeader', 'LayoutSider', 'LayoutContent', 'Button', 'Switch', 'Tag', 'Alert', 'RadioGroup', 'RadioButton',
  'Select', 'InputSearch', 'InputPassword', 'Badge', 'Table', 'Space', 'Empty', 'Popover', 'Tooltip', 'Descriptions',
  'Skeleton', 'Result', 'Card',
] as const

async function renderStyles(): Promise<string> {
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
    { algorithm: antd.theme.defaultAlgorithm, token: LIGHT_TOKENS },
    { algorithm: antd.theme.darkAlgorithm, token: DARK_TOKENS },
  ]
  for (const theme of themes) {
    for (const name of COMPONENTS) {
      const component = antd[name] as object
      const app = createSSRApp({
        render: () => h(StyleProvider, { cache }, () => h(antd.ConfigProvider as object, { theme }, () => h(component, {}, () => 'x'))),
      })
      await renderToString(app)
    }
  }
  return extractStyle(cache, true)
}

export function antdStyles(): Plugin {
  let build = false
  return {
    name: 'eventline:antd-styles',
    configResolved(config) {
      build = config.command === 'build' && !config.build.ssr && !process.env.VITEST
    },
    resolveId(id) {
      return id === ID ? RESOLVED : undefined
    },
    async load(id) {
      if (id !== RESOLVED) return undefined
      return build ? await renderStyles() : ''
    },
  }
}
