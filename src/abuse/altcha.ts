// ALTCHA: a self-hosted proof-of-work challenge (altcha-lib), verified locally. A solved challenge
// is accepted once across all instances: its id is claimed with an S3 conditional create.
import { createHash } from 'node:crypto'
import type { S3Client } from '@aws-sdk/client-s3'
import { create, randomInt } from 'altcha-lib/frameworks/fastify'
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2'
import { createJsonStore, WriteConflict } from '../storage/json-store.ts'

export const ALTCHA_PREFIX = 'altcha/'
// Long enough to solve on a slow phone, short enough that solved challenges cannot be hoarded.
const CHALLENGE_TTL_MS = 10 * 60 * 1000

export type Altcha = ReturnType<typeof createAltcha>

export function createAltcha (options: { secret: string, s3: S3Client, bucket: string, cost?: number }) {
  const cost = options.cost ?? 5_000
  const json = createJsonStore(options)
  const store = {
    get: () => undefined,
    set: () => undefined,
    /** true once per challenge id, whichever instance asks first */
    async setIfAbsent (key: string) {
      const name = createHash('sha256').update(key).digest('hex')
      try {
        // The marker says nothing: its existence is the claim.
        await json.put(`${ALTCHA_PREFIX}${name}`, {}, { ifNoneMatch: '*' })
        return true
      } catch (err) {
        if (err instanceof WriteConflict) return false
        throw err
      }
    }
  }
  const altcha = create({
    createChallengeParameters: () => ({
      algorithm: 'PBKDF2/SHA-256',
      cost,
      counter: randomInt(cost, cost * 2),
      expiresAt: new Date(Date.now() + CHALLENGE_TTL_MS)
    }),
    deriveKey,
    hmacSignatureSecret: `altcha:${options.secret}`,
    store
  })
  return {
    challengeHandler: altcha.challengeHandler,
    /** null when the payload is a fresh, valid solution; otherwise why not */
    async verify (payload: unknown): Promise<string | null> {
      if (typeof payload !== 'string' || payload === '' || payload.length > 8192) return 'missing'
      const result = await altcha.verify(payload, deriveKey, `altcha:${options.secret}`, undefined, store)
      return result.verification?.verified ? null : (result.error ?? 'not verified')
    }
  }
}
