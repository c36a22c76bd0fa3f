// Send pacing: a token bucket at SES's MaxSendRate (GetAccount, refreshed) or SES_MAX_SEND_RATE.
import { setTimeout as sleep } from 'node:timers/promises'
import { GetAccountCommand, type SESv2Client } from '@aws-sdk/client-sesv2'

/**
 * A token bucket whose capacity is a tenth of a second's worth of tokens, so that no one-second
 * window ever sees more than about 1.1 × the rate. Waiters are served in order.
 */
export class TokenBucket {
  #rate: number
  #tokens: number
  #last: number
  #pausedUntil = 0
  #queue: Promise<void> = Promise.resolve()
  readonly #now: () => number
  readonly #wait: (ms: number, signal?: AbortSignal) => Promise<unknown>

  constructor (ratePerSecond: number, now: () => number = () => performance.now(),
    wait: (ms: number, signal?: AbortSignal) => Promise<unknown> = (ms, signal) => sleep(ms, undefined, { signal })) {
    this.#rate = ratePerSecond
    this.#now = now
    this.#wait = wait
    this.#tokens = this.capacity
    this.#last = now()
  }

  get rate (): number { return this.#rate }
  get capacity (): number { return Math.max(1, Math.floor(this.#rate / 10)) }

  setRate (ratePerSecond: number): void {
    this.#refill()
    this.#rate = ratePerSecond
    this.#tokens = Math.min(this.#tokens, this.capacity)
  }

  /** After a throttling answer: send nothing for a moment. */
  pause (ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#now() + ms)
    this.#tokens = 0
  }

  #refill (): void {
    const now = this.#now()
    this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#last) / 1000 * this.#rate)
    this.#last = now
  }

  /** Resolves when one send may start. */
  take (signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(async () => {
      for (;;) {
        signal?.throwIfAborted()
        const now = this.#now()
        if (now < this.#pausedUntil) {
          await this.#wait(this.#pausedUntil - now, signal)
          this.#last = this.#now()
          continue
        }
        this.#refill()
        if (this.#tokens >= 1) {
          this.#tokens -= 1
          return
        }
        await this.#wait(Math.max(1, (1 - this.#tokens) / this.#rate * 1000), signal)
      }
    })
    this.#queue = turn.catch(() => {})
    return turn
  }
}

export interface SendRateOptions {
  ses: SESv2Client
  /** SES_MAX_SEND_RATE: when set, GetAccount is not asked */
  override?: number | undefined
  refreshMs?: number
  /** used until GetAccount answers (a new SES account's rate is 14/s; 1/s is the safe floor) */
  fallback?: number
  log: { info: (o: object, m: string) => void, warn: (o: object, m: string) => void }
}

export function createSendRate (options: SendRateOptions) {
  const bucket = new TokenBucket(options.override ?? options.fallback ?? 1)
  let timer: NodeJS.Timeout | undefined
  let source: 'override' | 'ses' | 'fallback' = options.override ? 'override' : 'fallback'

  async function refresh (): Promise<void> {
    try {
      const account = await options.ses.send(new GetAccountCommand({}), { abortSignal: AbortSignal.timeout(5000) })
      const rate = account.SendQuota?.MaxSendRate
      if (rate && rate > 0) {
        if (rate !== bucket.rate || source !== 'ses') options.log.info({ maxSendRate: rate }, 'SES sending rate from GetAccount')
        bucket.setRate(rate)
        source = 'ses'
      }
    } catch (err) {
      options.log.warn({ err, maxSendRate: bucket.rate }, 'SES GetAccount failed; keeping the current sending rate')
    }
  }

  return {
    bucket,
    get source () { return source },
    async start (): Promise<void> {
      if (options.override) return
      await refresh()
      timer = setInterval(() => { refresh().catch(() => {}) }, options.refreshMs ?? 300_000)
      timer.unref()
    },
    stop (): void {
      if (timer) clearInterval(timer)
    }
  }
}
