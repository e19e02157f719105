import { createRouter, createWebHistory } from 'vue-router'
import type { Router, RouteRecordRaw } from 'vue-router'
import type { ResourceKind } from '../api/resources.ts'

declare module 'vue-router' {
  interface RouteMeta {
    /** Which tab of an entity page the route shows. */
    tab?: 'overview' | 'events'
  }
}

// Views load lazily so the first page only downloads what it renders: a deep link to an Events tab
// never downloads the tables of the Overview.
const EntityView = () => import('../views/EntityView.vue')
const OverviewView = () => import('../views/OverviewView.vue')
const EntityEventsView = () => import('../views/EntityEventsView.vue')

/** `/<kind>/:name` (Overview) and `/<kind>/:name/events`, one route each so links and reloads keep the tab. */
function entityRoutes(kind: ResourceKind): RouteRecordRaw {
  return {
    path: `/${kind}/:name`,
    component: EntityView,
    props: (route) => ({ kind, name: route.params.name }),
    children: [
      { path: '', name: `${kind}-overview`, component: OverviewView, meta: { tab: 'overview' } },
      { path: 'events', name: `${kind}-events`, component: EntityEventsView, meta: { tab: 'events' } },
    ],
  }
}

export const routes: RouteRecordRaw[] = [
  // Keep the query (`?mesh=`) across the redirect: `/` is where links from outside land.
  { path: '/', redirect: (to) => ({ path: '/events', query: to.query }) },
  { path: '/events', name: 'events', component: () => import('../views/EventsView.vue') },
  { path: '/applications', name: 'applications', component: () => import('../views/ApplicationsView.vue') },
  { path: '/instances', name: 'instances', component: () => import('../views/InstancesView.vue') },
  { path: '/services', name: 'services', component: () => import('../views/ServicesView.vue') },
  entityRoutes('applications'),
  entityRoutes('instances'),
  entityRoutes('services'),
  // Links of the Dubbo admin console (ui-vue3) land on the matching Events tab.
  {
    path: '/resources/applications/event/:appName',
    redirect: (to) => ({ name: 'applications-events', params: { name: to.params.appName }, query: to.query }),
  },
  {
    path: '/resources/instances/event/:ip/:appName?',
    redirect: (to) => ({ name: 'instances-events', params: { name: to.params.ip }, query: to.query }),
  },
  {
    path: '/resources/services/event/:serviceName',
    redirect: (to) => ({ name: 'services-events', params: { name: to.params.serviceName }, query: to.query }),
  },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('../views/NotFoundView.vue') },
]

export function createAppRouter(): Router {
  return createRouter({
    // The server answers every unknown GET with index.html, so deep links and reloads work.
    history: createWebHistory(import.meta.env.BASE_URL),
    routes,
  })
}

/**
 * Keeps the mesh choice: a navigation without `?mesh=` gets the remembered one, and the mesh in
 * view is remembered. Choosing "All meshes" forgets it, so it is not put back.
 */
export function rememberMesh(router: Router, memory: { readonly mesh: string | undefined; rememberMesh(mesh: string | undefined): void }): void {
  router.beforeEach((to) => {
    if (to.query.mesh === undefined && memory.mesh && to.name !== 'not-found') return { ...to, query: { ...to.query, mesh: memory.mesh } }
    return true
  })
  router.afterEach((to, from) => {
    const mesh = typeof to.query.mesh === 'string' && to.query.mesh ? to.query.mesh : undefined
    // Only a change of mesh in the URL is a choice; the first navigation restores, never forgets.
    if (mesh !== undefined || (from.matched.length > 0 && typeof from.query.mesh === 'string')) memory.rememberMesh(mesh)
  })
}
