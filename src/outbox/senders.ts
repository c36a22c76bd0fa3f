// Heartbeats: each running sender announces itself in S3 (`senders/<start>-<owner>.json`: one PUT and one
// LIST per SEND_HEARTBEAT_SECONDS) and learns the others from the listing, so that the senders share the
// SES account's rate without a coordinator. A sender is live while its object keeps changing, as this
// instance's own clock sees it; the start in the key only orders newcomers (who yields to whom).
import { Type, type Static } from 'typebox'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Clock } from '../clock.ts'
import type { JsonStore } from '../storage/json-store.ts'
import { LONE, type Fleet, type FleetView } from './rate.ts'

export const SENDERS_PREFIX = 'senders/'
/** a heartbeat unchanged for this many periods is a sender that is gone (SIGKILL, crash, cut off) */
export const LIVE_PERIODS = 3
/** unchanged for this many periods, whoever sees it deletes it (housekeeping) */
export const FORGET_PERIODS = 12
/**
 * A new sender's first heartbeats: the running senders list at least once per period, so after this
 * many more they have all seen it; until then it takes only what the senders that started before it
 * leave (shareOf's `unaware`). Those that started after it yield to it, so that two senders starting
 * together do not both wait.
 */
export const PROBATION_BEATS = 2

/** The start as a fixed-width base-36 stamp: keys sort by it, so the listing tells who started first. */
export function senderKey (startedAt: number, owner: string): string {
  return `${SENDERS_PREFIX}${Math.max(0, Math.floor(startedAt)).toString(36).padStart(9, '0')}-${owner}.json`
}

export const HeartbeatSchema = Type.Object({
  schemaVersion: Type.Literal(1),
  owner: Type.String(),
  startedAt: Type.String(),
  at: Type.String(),
  /** counts up, so that every heartbeat changes the object's ETag */
  beat: Type.Integer({ minimum: 1 })
}, { additionalProperties: false })
export type Heartbeat = Static<typeof HeartbeatSchema>

export interface SendersOptions {
  store: Pick<JsonStore, 'put' | 'list' | 'delete'>
  owner: string
  periodMs: number
  clock: Clock
  log: { info: (o: object, m: string) => void, warn: (o: object, m: string) => void }
}

export type Senders = ReturnType<typeof createSenders>

/** `ms` at most: a hung S3 call must not hold up the sender's start or the shutdown. */
async function within<T> (ms: number, work: Promise<T>): Promise<T | undefined> {
  const timeUp = new AbortController()
  try {
    return await Promise.race([work, sleep(ms, undefined, { signal: timeUp.signal, ref: false }).then(() => undefined)])
  } finally {
    timeUp.abort()
  }
}

export function createSenders (options: SendersOptions) {
  const { store, owner, periodMs, clock, log } = options
  /** set at the first heartbeat: the key sorts by when this sender started */
  let key = ''
  let startedAt = ''
  /** the others' heartbeats: ETag as last listed, and when (our clock) it last changed */
  const seen = new Map<string, { etag: string, changedAt: number }>()
  const listeners = new Set<(view: FleetView) => void>()
  let beats = 0
  /** the live senders that started before this one, at its first listing: they may not have seen it yet */
  let firstPeers: Set<string> | undefined
  let view: FleetView = LONE
  let failing = false
  let stopped = false
  let running: Promise<unknown> | undefined
  let timer: NodeJS.Timeout | undefined

  function heartbeat (): Heartbeat {
    return { schemaVersion: 1, owner, startedAt, at: new Date(clock()).toISOString(), beat: beats + 1 }
  }

  async function forget (keys: string[]): Promise<void> {
    for (const stale of keys) {
      // Gone for FORGET_PERIODS: deleting it is housekeeping, and a sender only cut off writes it again.
      await store.delete(stale).catch(() => {})
      seen.delete(stale)
    }
  }

  /** One heartbeat: PUT this sender's object, LIST the others', work out the view. */
  async function beat (): Promise<FleetView> {
    if (stopped) return view
    if (key === '') {
      key = senderKey(clock(), owner)
      startedAt = new Date(clock()).toISOString()
    }
    try {
      await store.put(key, heartbeat())
      beats++
      const now = clock()
      const present = new Set<string>()
      for await (const entry of store.list(SENDERS_PREFIX)) {
        if (entry.key === key || !entry.key.endsWith('.json')) continue
        present.add(entry.key)
        const etag = entry.etag ?? ''
        const known = seen.get(entry.key)
        if (!known || known.etag !== etag || etag === '') seen.set(entry.key, { etag, changedAt: now })
      }
      for (const k of seen.keys()) if (!present.has(k)) seen.delete(k)
      const live = [...seen].filter(([, s]) => now - s.changedAt < LIVE_PERIODS * periodMs).map(([k]) => k)
      firstPeers ??= new Set(live.filter(k => k < key))
      const early = firstPeers
      const unaware = beats <= PROBATION_BEATS ? live.filter(k => early.has(k)).length : 0
      await forget([...seen].filter(([, s]) => now - s.changedAt >= FORGET_PERIODS * periodMs).map(([k]) => k))
      if (failing) log.info({ senders: live.length + 1 }, 'sender heartbeat works again')
      failing = false
      const next = { live: live.length + 1, unaware }
      if (next.live !== view.live || next.unaware !== view.unaware) {
        view = next
        for (const listener of listeners) listener(view)
      }
    } catch (err) {
      // Sending goes on at the last known share; said once per outage.
      if (!failing) log.warn({ err, senders: view.live }, 'sender heartbeat failed; keeping the last known share')
      failing = true
    }
    return view
  }

  function tick (): void {
    if (running || stopped) return
    running = beat().finally(() => { running = undefined })
  }

  return {
    /** this sender's heartbeat object ('' before the first heartbeat) */
    get key () { return key },
    /** Runs one heartbeat now (the timer's work; tests drive it by hand). */
    beat,
    view: (): FleetView => view,
    onChange (listener: (view: FleetView) => void): void {
      listeners.add(listener)
    },
    /** The first heartbeat (at most two periods), then one every period. */
    async start (): Promise<void> {
      if (timer || stopped) return
      running = beat().finally(() => { running = undefined })
      await within(2 * periodMs, running)
      timer = setInterval(tick, periodMs)
      timer.unref()
    },
    /** Leaves the fleet: the heartbeat object is deleted, so the others' shares grow at their next beat. */
    async stop (): Promise<void> {
      if (stopped) return
      stopped = true
      if (timer) clearInterval(timer)
      await within(periodMs, running ?? Promise.resolve())
      if (beats === 0) return
      try {
        await within(Math.min(periodMs, 2000), store.delete(key))
      } catch (err) {
        log.warn({ err }, 'could not delete the sender heartbeat: the others see it gone within three periods')
      }
    }
  } satisfies Fleet & Record<string, unknown>
}
