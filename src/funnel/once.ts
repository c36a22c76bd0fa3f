// "First time for this email?" for the steps counted once per email (opens, download clicks, delays):
// one empty marker per email and step, created with If-None-Match, so that every instance agrees.
// The key holds SES's message id, never an address; a lifecycle rule on funnel/once/ expires them (README).
import { WriteConflict, type JsonStore } from '../storage/json-store.ts'
import type { FunnelStep } from './model.ts'

export const ONCE_PREFIX = 'funnel/once/'
// SES message ids are letters, digits and dashes; anything else never becomes part of a key.
const SES_MESSAGE_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/

export const onceKey = (step: FunnelStep, messageId: string) => `${ONCE_PREFIX}${step}/${messageId}.json`

export type OnceMarkers = ReturnType<typeof createOnceMarkers>

export function createOnceMarkers (options: { json: JsonStore, cacheSize?: number }) {
  const { json } = options
  const cacheSize = options.cacheSize ?? 10_000
  // Markers known to exist: a repeat on this instance costs no request.
  const seen = new Set<string>()
  return {
    /** True the first time `step` is asked for this email (anywhere); false after, or for an id that is not one. */
    async first (step: FunnelStep, messageId: string | undefined): Promise<boolean> {
      if (!messageId || !SES_MESSAGE_ID.test(messageId)) return false
      const key = onceKey(step, messageId)
      if (seen.has(key)) return false
      let created = true
      try {
        await json.put(key, {}, { ifNoneMatch: '*' })
      } catch (err) {
        if (!(err instanceof WriteConflict) || err.inFlight) throw err
        created = false
      }
      seen.add(key)
      if (seen.size > cacheSize) seen.delete(seen.values().next().value as string)
      return created
    }
  }
}
