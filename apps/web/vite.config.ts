import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'
import { antdStyles } from './scripts/antdStyles.ts'

// Everything the server answers itself; the dev server forwards it so the SPA runs on one origin.
const SERVER = 'http://127.0.0.1:8080'
const SERVER_PATHS = ['/api', '/healthz', '/readyz', '/metrics']

// vue, @vue/*, vue-router and pinia, hoisted or inside pnpm's `.pnpm/<name>@<version>/node_modules/`.
const FRAMEWORK = /[\\/]node_modules[\\/](?:\.pnpm[\\/][^\\/]+[\\/]node_modules[\\/])?(?:vue|@vue[\\/][^\\/]+|vue-router|pinia)[\\/]/

export default defineConfig({
  // The server serves dist/ at `/` with a history-mode fallback, on the same port as the API.
  base: '/',
  plugins: [vue(), antdStyles()],
  resolve: {
    // The runtime-only build: messages are compiled by our own `i18n/messageCompiler.ts`.
    alias: { 'vue-i18n': 'vue-i18n/dist/vue-i18n.runtime.esm-bundler.js' },
  },
  define: {
    // vue-i18n: Composition API only (the legacy API is dead weight here), no devtools hooks in production.
    __VUE_I18N_FULL_INSTALL__: false,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  server: {
    proxy: Object.fromEntries(SERVER_PATHS.map((path) => [path, { target: SERVER }])),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Read by scripts/bundleSize.mjs, which adds up what each route downloads.
    manifest: true,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            // The framework changes less often than the app, so its chunk stays cached across releases.
            { name: 'vue', test: FRAMEWORK },
          ],
        },
      },
    },
  },
})
