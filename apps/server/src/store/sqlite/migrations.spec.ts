import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { MIGRATIONS } from './migrations.ts'
import { SqliteStore } from './sqliteStore.ts'

/**
 * Migration 4 reads the consumers ZooKeeper holds from the node state, in SQL: these are the node
 * names it must read (as Java Dubbo, JavaScript clients and SOFA write them) and those it must
 * leave to the source's next full sync.
 */
describe('migration 4: ZooKeeper consumers by <application>@<ip>', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })

  /** A database at schema 3 with what the old code stored for `consumers` of mesh `zk` under `root`. */
  const oldDatabase = (root: string, consumers: Array<{ node: string; service: string; ip: string; application: string | null }>) => {
    const dir = mkdtempSync(join(tmpdir(), 'eventline-migration-'))
    dirs.push(dir)
    const path = join(dir, 'eventline.db')
    const db = new Database(path)
    for (const [index, sql] of MIGRATIONS.slice(0, 3).entries()) {
      db.exec(sql)
      db.pragma(`user_version = ${index + 1}`)
    }
    db.prepare("INSERT INTO meshes (name, kind) VALUES ('zk', 'zookeeper')").run()
    db.prepare("INSERT INTO meshes (name, kind) VALUES ('nacos', 'nacos')").run()
    for (const consumer of consumers) {
      db.prepare("INSERT OR IGNORE INTO instances (mesh, name, ip, application, registered, sources, updated_at) VALUES ('zk', ?, ?, ?, 1, '[\"zookeeper\"]', 1)").run(consumer.ip, consumer.ip, consumer.application)
      db.prepare("INSERT OR REPLACE INTO service_instances (mesh, service, side, instance, application) VALUES ('zk', ?, 'consumer', ?, ?)").run(consumer.service, consumer.ip, consumer.application)
      db.prepare("INSERT INTO checkpoints (key, value, updated_at) VALUES (?, '', 1)").run(`zk:node:/${root}/${consumer.service}/consumers/${consumer.node}`)
    }
    // Another mesh's keys of the same shape are not ZooKeeper's.
    db.prepare("INSERT INTO checkpoints (key, value, updated_at) VALUES ('nacos:node:/x/org.x.S/consumers/consumer%3A%2F%2F10.9.9.9%2Forg.x.S%3Fapplication%3Dn', '', 1)").run()
    db.close()
    return path
  }

  const memberships = (store: SqliteStore) =>
    store.database.prepare("SELECT service, instance, application FROM service_instances WHERE side = 'consumer' ORDER BY service, instance").all()

  it.each([
    ['a Java consumer', 'dubbo', 'consumer%3A%2F%2F10.5.0.9%2Forg.x.S%3Fapplication%3Dcart-web%26category%3Dconsumers%26side%3Dconsumer', 'org.x.S', '10.5.0.9', { service: 'org.x.S', instance: 'cart-web@10.5.0.9', application: 'cart-web' }],
    ['a consumer with appName only, no path (SOFA)', 'sofa-rpc', 'bolt%3A%2F%2F10.5.0.9%3FuniqueId%3D%26appName%3Dcart-job%26startTime%3D', 'com.x.Echo', '10.5.0.9', { service: 'com.x.Echo', instance: 'cart-job@10.5.0.9', application: 'cart-job' }],
    ['a consumer on IPv6 under a custom root', 'gov/prod', 'consumer%3A%2F%2F%5Bfd00%3A%3A8%5D%2Forg.x.S%3Finterface%3Dorg.x.S%26application%3Dcart-web', 'org.x.S', 'fd00::8', { service: 'org.x.S', instance: 'cart-web@fd00::8', application: 'cart-web' }],
    ['application= before appName=', 'dubbo', 'consumer%3A%2F%2F10.5.0.9%2Forg.x.S%3FappName%3Dother%26application%3Dcart-web', 'org.x.S', '10.5.0.9', { instance: 'cart-web@10.5.0.9' }],
  ])('carries %s over', (_name, root, node, service, ip, expected) => {
    const store = new SqliteStore(oldDatabase(root, [{ node, service, ip, application: 'stale' }]))
    expect(memberships(store)).toEqual([expect.objectContaining(expected)])
    const instances = store.database.prepare("SELECT name, ip, application, registered FROM instances WHERE mesh = 'zk'").all()
    expect(instances).toEqual([{ name: expected.instance, ip, application: expected.instance.split('@')[0], registered: 1 }])
    void store.close()
  })

  it('keeps apart two applications the old membership row had collapsed, and leaves what it cannot read to the next sync', () => {
    const store = new SqliteStore(
      oldDatabase('dubbo', [
        { node: 'consumer%3A%2F%2F10.5.0.9%2Forg.x.S%3Fapplication%3Dcart-web', service: 'org.x.S', ip: '10.5.0.9', application: 'cart-web' },
        { node: 'consumer%3A%2F%2F10.5.0.9%2Forg.x.S%3Fapplication%3Dcart-job', service: 'org.x.S', ip: '10.5.0.9', application: 'cart-job' },
        // A percent-encoded application name: not decoded in SQL; the old rows stay for the source.
        { node: 'consumer%3A%2F%2F10.5.0.7%2Forg.x.S%3Fapplication%3Dcart%2520x', service: 'org.x.S', ip: '10.5.0.7', application: 'cart x' },
      ]),
    )
    expect(memberships(store)).toEqual([
      { service: 'org.x.S', instance: '10.5.0.7', application: 'cart x' },
      { service: 'org.x.S', instance: 'cart-job@10.5.0.9', application: 'cart-job' },
      { service: 'org.x.S', instance: 'cart-web@10.5.0.9', application: 'cart-web' },
    ])
    expect(store.database.prepare("SELECT name FROM instances WHERE mesh = 'zk' ORDER BY name").pluck().all()).toEqual(['10.5.0.7', 'cart-job@10.5.0.9', 'cart-web@10.5.0.9'])
    void store.close()
  })
})
