import { describe, expect, it } from 'vitest'
import { consumerInstance, instanceAddress } from './address.ts'

describe('instanceAddress', () => {
  it.each([
    ['an IPv4 address with a port', '10.0.0.7', 20880, '10.0.0.7:20880'],
    ['an IPv4 address without a port', '10.0.0.8', undefined, '10.0.0.8'],
    ['an IPv6 address with a port', '2001:db8::1', 20880, '[2001:db8::1]:20880'],
    ['an IPv6 address without a port', '2001:db8::1', undefined, '2001:db8::1'],
    ['the IPv6 loopback', '::1', 8080, '[::1]:8080'],
    ['an IPv4-mapped IPv6 address', '::ffff:10.0.0.7', 20880, '[::ffff:10.0.0.7]:20880'],
    ['an IPv6 address already in brackets', '[2001:db8::1]', 20880, '[2001:db8::1]:20880'],
    ['an IPv6 address in brackets without a port', '[2001:db8::1]', undefined, '2001:db8::1'],
    ['a host name', 'provider-1.example', 20880, 'provider-1.example:20880'],
    ['port 0 as given', '10.0.0.7', 0, '10.0.0.7:0'],
  ])('%s', (_label, ip, port, expected) => {
    expect(instanceAddress(ip, port)).toBe(expected)
  })
})

describe('consumerInstance', () => {
  it.each([
    ['an application on IPv4', 'cart-web', '10.5.0.9', 'cart-web@10.5.0.9'],
    ['another application on the same host', 'cart-job', '10.5.0.9', 'cart-job@10.5.0.9'],
    ['an application on IPv6, without brackets', 'cart-web', 'fd00::8', 'cart-web@fd00::8'],
    ['an IPv6 address given in brackets', 'cart-web', '[fd00::8]', 'cart-web@fd00::8'],
    ['no application', undefined, '10.5.0.10', '10.5.0.10'],
    ['an empty application', '', '10.5.0.10', '10.5.0.10'],
  ])('%s', (_label, application, ip, expected) => {
    expect(consumerInstance(application, ip)).toBe(expected)
  })
})
