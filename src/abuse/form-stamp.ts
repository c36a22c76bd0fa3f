// Form stamps: the landing page signs the time it was rendered; a submission earlier than
// BOT_MIN_FILL_SECONDS after it (or without a valid stamp) is a bot's.
import { createHmac, timingSafeEqual } from 'node:crypto'

export type StampVerdict = 'ok' | 'too_fast' | 'missing' | 'invalid' | 'stale'

// A page left open for a day is still a person; older stamps are replays.
const MAX_AGE_MS = 24 * 60 * 60 * 1000

export interface FormStamps {
  issue: () => string
  check: (stamp: unknown, minFillSeconds: number) => StampVerdict
}

export function createFormStamps (secrets: string[], now: () => number = Date.now): FormStamps {
  const mac = (secret: string, time: string) => createHmac('sha256', secret).update(`form-stamp:${time}`).digest().subarray(0, 16)
  return {
    issue () {
      const time = now().toString(36)
      return `${time}.${mac(secrets[0] as string, time).toString('base64url')}`
    },
    check (stamp, minFillSeconds) {
      if (typeof stamp !== 'string' || stamp === '') return 'missing'
      const m = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})$/.exec(stamp)
      if (!m) return 'invalid'
      const [, time, sig] = m as unknown as [string, string, string]
      const given = Buffer.from(sig, 'base64url')
      let valid = false
      for (const secret of secrets) valid = timingSafeEqual(mac(secret, time), given) || valid
      if (!valid) return 'invalid'
      const age = now() - Number.parseInt(time, 36)
      if (age > MAX_AGE_MS || age < -60_000) return 'stale'
      return age < minFillSeconds * 1000 ? 'too_fast' : 'ok'
    }
  }
}
