// The shared pace: this instance's share of the SES account's rate among the live senders (senders.ts), cut and regained by AIMD.
import { GetAccountCommand, type SESv2Client } from '@aws-sdk/client-sesv2'
import type { SendPacing } from './ports.ts'
import { realWait, TokenBucket, type Wait } from './token-bucket.ts'

/** What this instance knows of the senders sharing the account (src/outbox/senders.ts). */
export interface FleetView {
  /** live senders, this one included */
  live: number
  /** running senders that may not have seen this one yet (it just started): it leaves them their rate */
  unaware: number
}

export const LONE: FleetView = { live: 1, unaware: 0 }

/**
 * With two senders or more the fleet aims at 90 % of the account's rate: the rest is room for a
 * newcomer's first seconds, before the others have seen it, and for timer jitter (each bucket may
 * let 10 % more through in one second).
 */
export const FLEET_HEADROOM = 0.9

/**
 * This instance's ceiling: the whole rate alone, else an equal part of 90 % of it; a newcomer that
 * the running senders have not seen yet takes only what they leave (see FLEET_HEADROOM).
 */
export function shareOf (accountRate: number, view: FleetView): number {
  const share = view.live <= 1 ? accountRate : accountRate * FLEET_HEADROOM / view.live
  if (view.unaware === 0) return share
  const theirs = view.unaware === 1 ? accountRate : accountRate * FLEET_HEADROOM
  return Math.max(0, Math.min(share, accountRate - theirs))
}

/** on throttling the rate is multiplied by this (at most once per CUT_COOLDOWN_MS) */
export const CUT = 0.5
/** SES counts sends per second: answers within a second of a cut belong to the same overload */
export const CUT_COOLDOWN_MS = 1000
/** then it climbs back by this fraction of its ceiling per second (from half to whole in 2 s) */
export const CLIMB_PER_SECOND = 0.25
/** a cut never goes below this fraction of the ceiling */
export const FLOOR = 1 / 16

/**
 * AIMD pacing under a ceiling (this instance's share): a throttling answer halves the rate, which then
 * climbs back additively to the ceiling.
 * https://en.wikipedia.org/wiki/Additive_increase/multiplicative_decrease
 */
export class SharedPace implements SendPacing {
  readonly #bucket: TokenBucket
  readonly #now: () => number
  #ceiling: number
  #current: number
  #at: number
  #lastCut = Number.NEGATIVE_INFINITY
  #cuts = 0

  constructor (ceiling: number, now: () => number = () => performance.now(), wait: Wait = realWait) {
    this.#now = now
    this.#ceiling = Math.max(0, ceiling)
    this.#current = this.#ceiling
    this.#at = now()
    this.#bucket = new TokenBucket(this.#ceiling, now, wait)
  }

  get rate (): number {
    this.#climb()
    return this.#current
  }

  get ceiling (): number { return this.#ceiling }
  /** how many times throttling cut the rate */
  get cuts (): number { return this.#cuts }

  /** Before any send: the ceiling and the rate both (no climb from the fallback rate). */
  reset (ceiling: number): void {
    this.#ceiling = Math.max(0, ceiling)
    this.#at = this.#now()
    this.#apply(this.#ceiling)
  }

  /**
   * A lower share applies at once. A higher one (a sender left or died, this one has been seen) is
   * taken at once too, since whoever gave it up no longer sends; a rate still climbing back from a
   * throttling cut keeps its distance below.
   */
  setCeiling (ceiling: number): void {
    this.#climb()
    const next = Math.max(0, ceiling)
    const rise = Math.max(0, next - this.#ceiling)
    this.#ceiling = next
    this.#apply(Math.max(next * FLOOR, Math.min(next, this.#current + rise)))
  }

  throttled (): void {
    const now = this.#now()
    if (now - this.#lastCut >= CUT_COOLDOWN_MS) {
      this.#climb()
      this.#lastCut = now
      this.#cuts++
      this.#apply(Math.max(this.#ceiling * FLOOR, this.#current * CUT))
    }
    this.#bucket.throttled()
  }

  take (signal?: AbortSignal): Promise<void> {
    this.#climb()
    return this.#bucket.take(signal)
  }

  #climb (): void {
    const now = this.#now()
    const seconds = (now - this.#at) / 1000
    this.#at = now
    if (this.#current < this.#ceiling) this.#apply(Math.min(this.#ceiling, this.#current + this.#ceiling * CLIMB_PER_SECOND * seconds))
  }

  #apply (rate: number): void {
    this.#current = rate
    this.#bucket.setRate(rate)
  }
}

/** The live senders (src/outbox/senders.ts), as the rate needs them. */
export interface Fleet {
  view: () => FleetView
  onChange: (listener: (view: FleetView) => void) => void
  start: () => Promise<void>
  stop: () => Promise<void>
}

export interface SendRateOptions {
  ses: SESv2Client
  /** SES_MAX_SEND_RATE, the whole account's: when set, GetAccount is not asked */
  override?: number | undefined
  refreshMs?: number
  /** used until GetAccount answers (a new SES account's rate is 14/s; 1/s is the safe floor) */
  fallback?: number
  /** the senders sharing the account; without it this instance takes the whole rate */
  fleet?: Fleet | undefined
  log: { info: (o: object, m: string) => void, warn: (o: object, m: string) => void }
}

export function createSendRate (options: SendRateOptions) {
  const { fleet, log } = options
  let accountRate = options.override ?? options.fallback ?? 1
  const pace = new SharedPace(accountRate)
  let timer: NodeJS.Timeout | undefined
  let source: 'override' | 'ses' | 'fallback' = options.override ? 'override' : 'fallback'
  let logged = ''
  /** the share applies from start() on, once the first heartbeat and GetAccount have answered */
  let started = false

  function share (initial = false): void {
    if (!started && !initial) return
    started = true
    const view = fleet?.view() ?? LONE
    const ceiling = shareOf(accountRate, view)
    if (initial) pace.reset(ceiling)
    else pace.setCeiling(ceiling)
    const line = `${accountRate} ${view.live} ${view.unaware}`
    if (line === logged) return
    logged = line
    log.info({ accountRate, senders: view.live, unseenBy: view.unaware, share: Math.round(ceiling * 100) / 100 }, 'sending share')
  }

  async function refresh (): Promise<void> {
    try {
      const account = await options.ses.send(new GetAccountCommand({}), { abortSignal: AbortSignal.timeout(5000) })
      const rate = account.SendQuota?.MaxSendRate
      if (rate && rate > 0) {
        if (rate !== accountRate || source !== 'ses') log.info({ maxSendRate: rate }, 'SES sending rate from GetAccount')
        accountRate = rate
        source = 'ses'
        share()
      }
    } catch (err) {
      log.warn({ err, maxSendRate: accountRate }, 'SES GetAccount failed; keeping the current sending rate')
    }
  }

  fleet?.onChange(() => share())

  return {
    pace,
    get source () { return source },
    get accountRate () { return accountRate },
    /** The first heartbeat and the account's rate, before any send; then both are kept up to date. */
    async start (): Promise<void> {
      await fleet?.start()
      if (!options.override) await refresh()
      share(true)
      if (options.override) return
      timer = setInterval(() => { refresh().catch(() => {}) }, options.refreshMs ?? 300_000)
      timer.unref()
    },
    /** After the worker stopped: this sender leaves the fleet (the others' shares grow). */
    async stop (): Promise<void> {
      if (timer) clearInterval(timer)
      await fleet?.stop()
    }
  }
}
