// A token bucket: sends at a set rate, a tenth of a second's burst at most, paused after throttling (rate.ts paces with it).
import { setTimeout as sleep } from 'node:timers/promises'
import type { SendPacing } from './ports.ts'

export type Wait = (ms: number, signal?: AbortSignal) => Promise<unknown>
export const realWait: Wait = (ms, signal) => sleep(ms, undefined, { signal })
/** at rate 0 a waiter looks again this often (a rate change wakes it sooner) */
const IDLE_RECHECK_MS = 1000

/**
 * A token bucket whose capacity is a tenth of a second's worth of tokens, so that no one-second
 * window ever sees more than about 1.1 × the rate. Waiters are served in order; a rate change wakes
 * the one waiting, so that it waits by the new rate. Rate 0 holds every send until the rate rises.
 */
export class TokenBucket implements SendPacing {
  #rate: number
  #tokens: number
  #last: number
  #pausedUntil = 0
  #queue: Promise<void> = Promise.resolve()
  readonly #wakers = new Set<AbortController>()
  readonly #now: () => number
  readonly #wait: Wait

  constructor (ratePerSecond: number, now: () => number = () => performance.now(), wait: Wait = realWait) {
    this.#rate = Math.max(0, ratePerSecond)
    this.#now = now
    this.#wait = wait
    this.#tokens = this.capacity
    this.#last = now()
  }

  get rate (): number { return this.#rate }
  get capacity (): number { return Math.max(1, Math.floor(this.#rate / 10)) }

  setRate (ratePerSecond: number): void {
    this.#refill()
    this.#rate = Math.max(0, ratePerSecond)
    this.#tokens = Math.min(this.#tokens, this.capacity)
    for (const waker of this.#wakers) waker.abort()
  }

  /** After a throttling answer: send nothing for a moment. */
  pause (ms: number): void {
    this.#refill()
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#now() + ms)
    this.#tokens = 0
  }

  /** A throttling answer: pause for about ten sends' worth (at most 2 s). */
  throttled (): void {
    this.pause(this.#rate > 0 ? Math.min(2000, 1000 / this.#rate * 10) : 2000)
  }

  #refill (): void {
    const now = this.#now()
    this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#last) / 1000 * this.#rate)
    this.#last = now
  }

  /** Waits `ms`, or less if the rate changes; rejects only when `signal` aborts. */
  async #sleep (ms: number, signal?: AbortSignal): Promise<void> {
    const waker = new AbortController()
    const onAbort = () => waker.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    this.#wakers.add(waker)
    try {
      await this.#wait(ms, waker.signal)
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      if (!waker.signal.aborted) throw err
    } finally {
      signal?.removeEventListener('abort', onAbort)
      this.#wakers.delete(waker)
    }
  }

  take (signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(async () => {
      for (;;) {
        signal?.throwIfAborted()
        const now = this.#now()
        if (now < this.#pausedUntil) {
          await this.#sleep(this.#pausedUntil - now, signal)
          this.#last = this.#now()
          continue
        }
        this.#refill()
        if (this.#tokens >= 1) {
          this.#tokens -= 1
          return
        }
        await this.#sleep(this.#rate > 0 ? Math.max(1, (1 - this.#tokens) / this.#rate * 1000) : IDLE_RECHECK_MS, signal)
      }
    })
    this.#queue = turn.catch(() => {})
    return turn
  }
}
