// antd 4 styles its components at run time but leaves the page itself alone: this is its global reset.
import 'ant-design-vue/dist/reset.css'
// The themes' tokens as CSS variables, read by the console's own components (scripts/antdStyles.ts).
import 'virtual:antd-tokens.css'
import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { i18n } from './i18n/index.ts'
import { createAppRouter, rememberMesh } from './router/index.ts'
import { usePreferencesStore } from './stores/preferences.ts'
import { useSessionStore } from './stores/session.ts'

const pinia = createPinia()
const router = createAppRouter()
rememberMesh(router, usePreferencesStore(pinia))
// Before the first request: a token kept in this tab is sent from the start.
useSessionStore(pinia)

createApp(App).use(pinia).use(i18n).use(router).mount('#app')
