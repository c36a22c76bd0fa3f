// Records of before ADDRESS_KEY (keyed by the address's plain SHA-256): whether some may still be in the
// bucket (a marker object says when `npm run signups -- migrate-keys` finished), and the mapping that
// keeps unsubscribe links of before working (keyed by an HMAC of the old key: the plain hash is not stored).
import { Type } from 'typebox'
import type { JsonStore } from '../storage/json-store.ts'
import { WriteConflict } from '../storage/json-store.ts'

/** Written by the migration when every record was moved (or at start, in a bucket with no record at all). */
export const KEYS_MARKER = 'privacy/address-keys.json'
export const LEGACY_MAP_PREFIX = 'privacy/legacy-keys/'
/** How often a service that still reads keys of before looks for the marker again. */
export const RECHECK_MS = 60_000

export const KeysMarkerSchema = Type.Object({
  schemaVersion: Type.Literal(1),
  /** when the last migration run finished (or when an empty bucket was found) */
  migratedAt: Type.String(),
  /** records moved by that run */
  moved: Type.Integer({ minimum: 0 })
})

/** privacy/legacy-keys/<HMAC of the old key>.json: where the record of an old token's key now is. */
export const LegacyMapSchema = Type.Object({
  key: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'the record key under ADDRESS_KEY' })
})

export function legacyMapKey (legacyRef: string): string {
  return `${LEGACY_MAP_PREFIX}${legacyRef}.json`
}

export interface MigrationLogger {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
}

export interface KeyMigrationState {
  /** true until the marker is seen: record reads also look under the key of before */
  pending: () => boolean
  /** the first check, started on first use (the store awaits it before its first read by address) */
  ready: () => Promise<void>
  /** reads the marker again (every RECHECK_MS while pending); never throws */
  check: () => Promise<void>
}

export function createKeyMigrationState (options: { json: JsonStore, log: MigrationLogger, now: () => number }): KeyMigrationState {
  const { json, log } = options
  // Until the first check answers, assume records of before may exist: reading one key too many is
  // safe, missing a suppression is not.
  let pending = true
  let first: Promise<void> | undefined
  let told = false
  async function check (): Promise<void> {
    if (!pending) return
    try {
      if (await json.get(KEYS_MARKER, KeysMarkerSchema)) {
        pending = false
        return
      }
      // A bucket without any record has nothing to move (a new install): one LIST, once per bucket.
      for await (const _ of json.list('subscribers/', { pageSize: 1 })) {
        if (!told) log.warn({}, 'subscriber records may remain under their keys of before ADDRESS_KEY (each read looks there too): run `npm run signups -- migrate-keys`')
        told = true
        return
      }
      await json.put(KEYS_MARKER, { schemaVersion: 1, migratedAt: new Date(options.now()).toISOString(), moved: 0 }, { ifNoneMatch: '*' })
        .catch(err => { if (!(err instanceof WriteConflict)) throw err })
      pending = false
    } catch (err) {
      log.warn({ err }, 'could not read the key migration marker; still reading keys of before')
    }
  }
  return { pending: () => pending, ready: () => (first ??= check()), check }
}

/** For a bucket known to hold no record of before (tests, tools that only read new keys). */
export const migratedState: KeyMigrationState = { pending: () => false, ready: async () => {}, check: async () => {} }
