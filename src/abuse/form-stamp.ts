// Form stamps: the landing page signs the time it was rendered (and a nonce); a submission earlier
// than BOT_MIN_FILL_SECONDS after it, without a valid stamp, or with a stamp already used is a bot's.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Redis } from 'ioredis'

export type StampVerdict = 'ok' | 'too_fast' | 'missing' | 'invalid' | 'stale' | 'replayed'

// A page left open for a day is still a person; older stamps are replays.
export const STAMP_MAX_AGE_MS = 24 * 60 * 60 * 1000
// Stamps remembered as used in memory at most; past that the oldest are forgotten and every stamp
// issued before them is refused as a replay (a person's page would have to be that old).
const MEMORY_LIMIT = 200_000

export interface StampLogger {
  warn: (obj: object, msg: string) => void
}

export interface FormStampOptions {
  secrets: string[]
  now?: () => number
  /** shared by every instance (RATE_LIMIT_REDIS_URL): a stamp used on one is used on all */
  redis?: Redis | undefined
  log?: StampLogger
}

export interface FormStamps {
  issue: () => string
  /** Looks at a stamp without using it up (a 422 lets the visitor correct the address and send it again). */
  check: (stamp: unknown, minFillMs: number) => StampVerdict
  /** Marks a stamp used: true the first time, false for a replay (on this instance, or on any with Redis). */
  consume: (stamp: string) => Promise<boolean>
}

interface ParsedStamp { time: string, issuedAt: number, id: string, signed: string, sig: string }

// time.nonce.mac; stamps from before the nonce (time.mac) are still read, so open pages survive a deploy.
const STAMP_RE = /^([0-9a-z]{1,12})(?:\.([A-Za-z0-9_-]{11}))?\.([A-Za-z0-9_-]{22})$/

function parse (stamp: string): ParsedStamp | undefined {
  const m = STAMP_RE.exec(stamp)
  if (!m) return undefined
  const [, time, nonce, sig] = m as unknown as [string, string, string | undefined, string]
  return { time, issuedAt: Number.parseInt(time, 36), id: sig, signed: nonce === undefined ? time : `${time}.${nonce}`, sig }
}

export function createFormStamps (options: FormStampOptions): FormStamps {
  const { secrets, redis, log } = options
  const now = options.now ?? Date.now
  const mac = (secret: string, signed: string) => createHmac('sha256', secret).update(`form-stamp:${signed}`).digest().subarray(0, 16)
  // Used stamps (by signature) with the time they stop mattering; insertion order is issue order, nearly.
  const used = new Map<string, number>()
  let forgottenBefore = 0

  function rememberLocally (stamp: ParsedStamp): boolean {
    const at = now()
    if (stamp.issuedAt <= forgottenBefore || used.has(stamp.id)) return false
    used.set(stamp.id, stamp.issuedAt + STAMP_MAX_AGE_MS)
    for (const [id, until] of used) {
      if (until > at && used.size <= MEMORY_LIMIT) break
      used.delete(id)
      if (until > at) forgottenBefore = Math.max(forgottenBefore, until - STAMP_MAX_AGE_MS)
    }
    return true
  }

  return {
    issue () {
      const time = now().toString(36)
      const signed = `${time}.${randomBytes(8).toString('base64url')}`
      return `${signed}.${mac(secrets[0] as string, signed).toString('base64url')}`
    },

    check (stamp, minFillMs) {
      if (typeof stamp !== 'string' || stamp === '') return 'missing'
      const parsed = parse(stamp)
      if (!parsed) return 'invalid'
      const given = Buffer.from(parsed.sig, 'base64url')
      let valid = false
      for (const secret of secrets) valid = timingSafeEqual(mac(secret, parsed.signed), given) || valid
      if (!valid) return 'invalid'
      const age = now() - parsed.issuedAt
      if (age > STAMP_MAX_AGE_MS || age < -60_000) return 'stale'
      if (used.has(parsed.id) || parsed.issuedAt <= forgottenBefore) return 'replayed'
      return age < minFillMs ? 'too_fast' : 'ok'
    },

    async consume (stamp) {
      const parsed = parse(stamp)
      if (!parsed) return false
      if (!rememberLocally(parsed)) return false
      if (!redis) return true
      try {
        const ttl = Math.max(1000, parsed.issuedAt + STAMP_MAX_AGE_MS - now())
        return await redis.set(`leadlink-stamp:${parsed.id}`, '1', 'PX', ttl, 'NX') === 'OK'
      } catch (err) {
        // Redis down: this instance's memory still refuses replays here; the other instances' too.
        log?.warn({ err: { name: (err as Error).name } }, 'form stamp store (Redis) unreachable: stamps are single-use per instance only')
        return true
      }
    }
  }
}
