// antd 4 styles its components at run time but leaves the page itself alone: this is its global reset.
import 'ant-design-vue/dist/reset.css'
import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router/index.ts'

createApp(App).use(createPinia()).use(router).mount('#app')
