import { defineConfig } from 'vitest/config'

// One run over every package; e2e (Playwright) runs separately after the build.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'shared', root: 'packages/shared', include: ['src/**/*.spec.ts'] } },
      { test: { name: 'server', root: 'apps/server', include: ['src/**/*.spec.ts'], testTimeout: 30_000, hookTimeout: 60_000 } },
      { test: { name: 'repo', root: 'test', include: ['**/*.spec.ts'] } },
      // The console's components and stores, with the app's own Vite config (Vue plugin, aliases) in a DOM.
      { extends: './apps/web/vite.config.ts', test: { name: 'web', root: 'apps/web', include: ['src/**/*.spec.ts'], environment: 'happy-dom' } },
    ],
  },
})
