import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// Everything the server answers itself; the dev server forwards it so the SPA runs on one origin.
const SERVER = 'http://127.0.0.1:8080'
const SERVER_PATHS = ['/api', '/healthz', '/readyz', '/metrics']

// vue, @vue/*, vue-router and pinia, hoisted or inside pnpm's `.pnpm/<name>@<version>/node_modules/`.
const FRAMEWORK = /[\\/]node_modules[\\/](?:\.pnpm[\\/][^\\/]+[\\/]node_modules[\\/])?(?:vue|@vue[\\/][^\\/]+|vue-router|pinia)[\\/]/
const THIRD_PARTY = /[\\/]node_modules[\\/]/

export default defineConfig({
  // The server serves dist/ at `/` with a history-mode fallback, on the same port as the API.
  base: '/',
  plugins: [vue()],
  server: {
    proxy: Object.fromEntries(SERVER_PATHS.map((path) => [path, { target: SERVER }])),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            // The framework changes less often than the app, so its chunk stays cached across releases.
            { name: 'vue', test: FRAMEWORK },
            // Third-party code several chunks share (mostly antd's theme, icons and utilities). A
            // component only one lazy view uses stays in that view's chunk, off the first load.
            { name: 'antd', test: THIRD_PARTY, minShareCount: 2 },
          ],
        },
      },
    },
  },
})
