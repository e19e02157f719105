/**
 * Reliability: an operator's regex cannot stall ingestion. `^(a+)+$` backtracks exponentially in
 * JavaScript's RegExp: one posted 41-character reason used to hang ingestion, `/healthz` and even
 * SIGTERM for minutes. A real server process, probed from outside while it handles that event.
 */
import { writeFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { startEventlineProcess } from '../testing/eventlineProcess.ts'
import type { EventlineProcess } from '../testing/eventlineProcess.ts'
import { tempDir } from '../testing/testServer.ts'

const TOKEN = 'reliability-token'
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }
/** Generous: these catch a hang (minutes), they do not measure speed. */
const HANG = 20_000

describe('an operator regex that backtracks catastrophically', () => {
  const tmp = tempDir()
  const processes: EventlineProcess[] = []
  afterAll(async () => {
    for (const running of processes) await running.stop()
    tmp.cleanup()
  })

  // A process start and six calls, each bounded by HANG: the default 30 s did not cover them at a
  // load average of 37.
  it('handles a crafted 41-character reason at once: /healthz answers, the event is stored, SIGTERM works', { timeout: 8 * HANG }, async () => {
    writeFileSync(`${tmp.dir}/eventline.yaml`, "ingest:\n  drop:\n    - reason: '^(a+)+$'\n")
    const server = startEventlineProcess(['--port', '0', '--db', `${tmp.dir}/regex.db`, '--token', TOKEN, '--config', `${tmp.dir}/eventline.yaml`])
    processes.push(server)
    const url = await server.listening

    const crafted = `${'a'.repeat(40)}!`
    expect(crafted).toHaveLength(41)
    const posting = fetch(`${url}/api/v1/events`, {
      method: 'POST',
      headers,
      body: JSON.stringify([
        { id: 'crafted', type: 'warning', reason: crafted, message: 'kept: the drop pattern does not match' },
        { id: 'dropped', type: 'warning', reason: 'a'.repeat(41), message: 'dropped: the pattern matches' },
      ]),
      signal: AbortSignal.timeout(HANG),
    })
    const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(HANG) })
    expect(health.status).toBe(200)
    expect((await posting).status).toBe(202)

    const stored = await fetch(`${url}/api/v1/events/crafted`, { headers, signal: AbortSignal.timeout(HANG) })
    expect(stored.status).toBe(200)
    expect(await stored.json()).toMatchObject({ id: 'crafted', reason: crafted })
    expect((await fetch(`${url}/api/v1/events/dropped`, { headers, signal: AbortSignal.timeout(HANG) })).status).toBe(404)
    const metrics = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(HANG) })).text()
    expect(metrics).toMatch(/^eventline_events_filtered_total\{source="api"\} 1$/m)

    expect(await server.stop(HANG)).toBe(0)
  })

  it('refuses at start, with exit 2, a pattern only a backtracking engine can run, naming file, path, line and pattern', async () => {
    writeFileSync(`${tmp.dir}/backref.yaml`, 'routes:\n  - name: repeats\n    match:\n      - reason: "^(a+)\\\\1$"\n')
    const server = startEventlineProcess(['--port', '0', '--db', `${tmp.dir}/backref.db`, '--config', `${tmp.dir}/backref.yaml`])
    processes.push(server)
    expect(await server.exited).toBe(2)
    const { stderr } = server.output()
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain(`${tmp.dir}/backref.yaml: routes[0].match[0].reason (line 4)`)
    expect(stderr).toContain('"^(a+)\\\\1$"')
    expect(stderr).toContain('backtracking')
  })
})
