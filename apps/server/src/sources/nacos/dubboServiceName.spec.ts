import { describe, expect, it } from 'vitest'
import { parseDubboServiceName } from './dubboServiceName.ts'
import type { DubboServiceName } from './dubboServiceName.ts'

describe('parseDubboServiceName', () => {
  it.each<[string, DubboServiceName]>([
    [
      'providers:org.apache.dubbo.demo.DemoService:1.0.0:blue',
      { kind: 'interface', category: 'providers', side: 'provider', interface: 'org.apache.dubbo.demo.DemoService', version: '1.0.0', group: 'blue' },
    ],
    ['providers:org.apache.dubbo.demo.DemoService::', { kind: 'interface', category: 'providers', side: 'provider', interface: 'org.apache.dubbo.demo.DemoService' }],
    ['providers:org.apache.dubbo.demo.DemoService:2.0:', { kind: 'interface', category: 'providers', side: 'provider', interface: 'org.apache.dubbo.demo.DemoService', version: '2.0' }],
    ['providers:org.apache.dubbo.demo.DemoService::g1', { kind: 'interface', category: 'providers', side: 'provider', interface: 'org.apache.dubbo.demo.DemoService', group: 'g1' }],
    ['consumers:com.shop.CartService:1.2.0:', { kind: 'interface', category: 'consumers', side: 'consumer', interface: 'com.shop.CartService', version: '1.2.0' }],
    ['providers:com.shop.CartService', { kind: 'interface', category: 'providers', side: 'provider', interface: 'com.shop.CartService' }],
    ['configurators:com.shop.CartService::', { kind: 'interface', category: 'configurators', interface: 'com.shop.CartService' }],
    ['routers:com.shop.CartService::', { kind: 'interface', category: 'routers', interface: 'com.shop.CartService' }],
    // Dubbo 3 application-level discovery and non-Dubbo clients: the name is the application.
    ['demo-provider', { kind: 'application', application: 'demo-provider' }],
    ['user-service', { kind: 'application', application: 'user-service' }],
    // Not Dubbo's shape: kept whole as a name rather than half-parsed.
    ['providers:', { kind: 'application', application: 'providers:' }],
    ['providers::1.0.0:', { kind: 'application', application: 'providers::1.0.0:' }],
    ['providers:a:b:c:d', { kind: 'application', application: 'providers:a:b:c:d' }],
    ['others:com.shop.CartService::', { kind: 'application', application: 'others:com.shop.CartService::' }],
  ])('%s', (name, expected) => {
    expect(parseDubboServiceName(name)).toEqual(expected)
  })
})
