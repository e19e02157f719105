import type { EventItem } from '@eventline/shared'
import { onScopeDispose, ref, toValue, watch } from 'vue'
import type { MaybeRefOrGetter } from 'vue'

export type StreamStatus = 'off' | 'connecting' | 'open' | 'reconnecting'

export interface EventStreamOptions {
  /** A new or updated event arrived. */
  onEvent: (item: EventItem) => void
  /**
   * The stream was re-created after the browser gave up on it, so events may have been missed
   * (a new EventSource cannot send `Last-Event-ID`): the caller refreshes what it shows.
   */
  onGap?: () => void
  /** Backoff of re-creating a failed stream: first delay and ceiling (ms). */
  minDelayMs?: number
  maxDelayMs?: number
}

/**
 * The live stream of a timeline (modelled on VueUse's useEventSource): connects while `url` is
 * set, reconnects after failures with exponential backoff, remembers the last event id, and closes
 * when the URL changes or the scope ends. While the connection merely drops, the browser
 * reconnects by itself and resumes with `Last-Event-ID`; only when it gives up (an HTTP error,
 * a server that stays away) is a new stream created here.
 */
export function useEventStream(url: MaybeRefOrGetter<string | null>, options: EventStreamOptions) {
  const status = ref<StreamStatus>('off')
  const lastEventId = ref<string | null>(null)
  const minDelay = options.minDelayMs ?? 1000
  const maxDelay = options.maxDelayMs ?? 30_000
  let source: EventSource | null = null
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let delay = minDelay

  function stop(): void {
    clearTimeout(retryTimer)
    retryTimer = undefined
    source?.close()
    source = null
  }

  function connect(target: string, afterGap: boolean): void {
    stop()
    status.value = afterGap ? 'reconnecting' : 'connecting'
    const current = new EventSource(target)
    source = current
    current.addEventListener('open', () => {
      status.value = 'open'
      delay = minDelay
      if (afterGap) options.onGap?.()
      afterGap = false
    })
    current.addEventListener('event', (message) => {
      const event = message as MessageEvent<string>
      lastEventId.value = event.lastEventId || lastEventId.value
      try {
        options.onEvent(JSON.parse(event.data) as EventItem)
      } catch {
        // A frame that does not parse is skipped; the stream itself stays usable.
      }
    })
    current.addEventListener('error', () => {
      if (source !== current) return
      if (current.readyState === EventSource.CONNECTING) {
        status.value = 'reconnecting'
        return
      }
      // Closed for good by the browser: try again later, with a fresh stream.
      status.value = 'reconnecting'
      current.close()
      retryTimer = setTimeout(() => connect(target, true), delay)
      delay = Math.min(delay * 2, maxDelay)
    })
  }

  watch(
    () => toValue(url),
    (target) => {
      if (target) {
        delay = minDelay
        lastEventId.value = null
        connect(target, false)
      } else {
        stop()
        status.value = 'off'
      }
    },
    { immediate: true },
  )
  onScopeDispose(stop)

  return { status, lastEventId, close: stop }
}
