import { createRouter, createWebHistory } from 'vue-router'
import type { RouteRecordRaw } from 'vue-router'

// Views load lazily so the first page only downloads what it renders.
const routes: RouteRecordRaw[] = [
  // Keep the query (`?mesh=`) across the redirect: `/` is where links from outside land.
  { path: '/', redirect: (to) => ({ path: '/events', query: to.query }) },
  { path: '/events', name: 'events', component: () => import('../views/EventsView.vue') },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('../views/NotFoundView.vue') },
]

export const router = createRouter({
  // The server answers every unknown GET with index.html, so deep links and reloads work.
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
})
