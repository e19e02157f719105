#!/usr/bin/env node
// `pnpm bench`: every benchmark in turn, or the one named by BENCH (timeline, kubernetes, kubernetes-clusters, zookeeper, nacos, forwarding, console, mixed, replicas).
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BENCHMARKS = { timeline: 'timeline.bench.ts', kubernetes: 'kubernetes.bench.ts', 'kubernetes-clusters': 'kubernetesClusters.bench.ts', zookeeper: 'zookeeper.bench.ts', nacos: 'nacos.bench.ts', forwarding: 'forwarding.bench.ts', console: 'console.bench.ts', mixed: 'mixed.bench.ts', replicas: 'replicas.bench.ts' }
const chosen = process.env.BENCH ? [process.env.BENCH] : Object.keys(BENCHMARKS)
for (const name of chosen) {
  const file = BENCHMARKS[name]
  if (!file) {
    process.stderr.write(`BENCH must be one of ${Object.keys(BENCHMARKS).join(', ')} (unset: all), got "${name}"\n`)
    process.exit(2)
  }
  const { status } = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(dirname(fileURLToPath(import.meta.url)), file)], { stdio: 'inherit' })
  if (status !== 0) process.exit(status ?? 1)
}
