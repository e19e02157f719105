import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { CONTRACT_VARIABLES } from '../../../test/contractVariables.ts'
import { writeKubeconfig } from './testing/kubeconfig.ts'
import { tempDir } from './testing/testServer.ts'

const serverRoot = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Runs the real entry point (`src/main.ts`) as a process. */
function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: serverRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, EVENTLINE_KUBERNETES: 'off', ...env },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', () => {
      const line = stdout.split('\n').find((text) => text.includes('"msg":"listening"'))
      if (line) resolve((JSON.parse(line) as { port: number }).port)
    })
    void exited.then(() => reject(new Error(`exited before listening: ${stderr}`)))
  })
  listening.catch(() => {})
  return { child, exited, listening, output: () => ({ stdout, stderr }) }
}

describe('main', () => {
  const tmp = tempDir()
  afterAll(() => tmp.cleanup())

  it.each([
    [['--port', 'abc'], {}, '--port'],
    [[], { EVENTLINE_RETENTION: 'forever' }, 'EVENTLINE_RETENTION'],
    [['--bogus'], {}, '--bogus'],
    [['--port'], {}, '--port'],
    [['--demo=yes'], {}, '--demo'],
    [['stray-argument'], {}, 'stray-argument'],
    [[], { EVENTLINE_KUBE_CONTEXTS: 'a,*' }, 'EVENTLINE_KUBE_CONTEXTS'],
  ])('stops with exit code 2 and one line naming the setting for %j %j', async (args, env, name) => {
    const process = run(args, env)
    expect(await process.exited).toBe(2)
    const { stderr, stdout } = process.output()
    expect(stdout).toBe('')
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain(name)
  })

  it('stops with exit code 2 and one line when EVENTLINE_CLUSTER is set with several contexts', async () => {
    const kubeconfig = writeKubeconfig([
      { server: 'https://127.0.0.1:1', token: 'a', cluster: 'east' },
      { server: 'https://127.0.0.1:2', token: 'b', cluster: 'west' },
    ])
    try {
      const process = run([], { EVENTLINE_KUBERNETES: kubeconfig.path, EVENTLINE_KUBE_CONTEXTS: '*', EVENTLINE_CLUSTER: 'one', EVENTLINE_DB: ':memory:' })
      expect(await process.exited).toBe(2)
      const { stderr, stdout } = process.output()
      expect(stdout).toBe('')
      expect(stderr.trim().split('\n')).toHaveLength(1)
      expect(stderr).toContain('EVENTLINE_CLUSTER: names one mesh, but 2 contexts are chosen')
    } finally {
      kubeconfig.cleanup()
    }
  })

  it('prints --help with every flag, variable and default, and exits 0 even when the environment is invalid', async () => {
    const help = run(['--help'], { EVENTLINE_PORT: 'not-a-port' })
    expect(await help.exited).toBe(0)
    const { stdout, stderr } = help.output()
    expect(stderr).toBe('')
    for (const variable of CONTRACT_VARIABLES) expect(stdout).toMatch(new RegExp(`${variable} \\(default: [^)]+\\)`))
    for (const flag of ['--port', '--host', '--db', '--kubeconfig', '--cluster', '--registry', '--retention', '--token', '--demo', '--log-level', '--config', '--context', '--help', '--version']) {
      expect(stdout).toMatch(new RegExp(`^  ${flag}\\b`, 'm'))
    }
  })

  it('prints --version (the server package version) and exits 0', async () => {
    const version = run(['--', '--version'])
    expect(await version.exited).toBe(0)
    const manifest = JSON.parse(readFileSync(join(serverRoot, 'package.json'), 'utf8')) as { version: string }
    expect(version.output()).toEqual({ stdout: `${manifest.version}\n`, stderr: '' })
  })

  it('logs JSON lines, serves, and on SIGTERM flushes and closes the database before exiting 0', async () => {
    const db = join(tmp.dir, 'sigterm', 'eventline.db')
    const server = run(['--port', '0', '--db', db, '--token', 'sigterm-token'])
    const port = await server.listening
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: 'Bearer sigterm-token', 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'kept', type: 'normal', reason: 'R', message: 'survives' }),
    })
    expect(response.status).toBe(202)
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    const lines = server.output().stdout.trim().split('\n').map((line) => JSON.parse(line) as { msg: string; level: string })
    expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['listening', 'shutting down', 'stopped']))
    // A cleanly closed SQLite database checkpoints and removes its write-ahead log.
    expect(existsSync(db)).toBe(true)
    expect(existsSync(`${db}-wal`)).toBe(false)

    const again = run(['--port', '0', '--db', db])
    const againPort = await again.listening
    const page = (await (await fetch(`http://127.0.0.1:${againPort}/api/v1/events`)).json()) as { items: Array<{ id: string }> }
    expect(page.items.map((item) => item.id)).toEqual(['kept'])
    again.child.kill('SIGINT')
    expect(await again.exited).toBe(0)
  })
})
