// A person's rights, for the routes that serve them (/admin's erase, the self-service page /p/):
// show everything held about an address and erase it (src/subscribers/personal-data.ts, erase.ts).
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { systemClock } from '../../clock.ts'
import { createJsonStore } from '../../storage/json-store.ts'
import { createEraser, type EraseOptions, type EraseResult, type EraseTarget } from '../../subscribers/erase.ts'
import { type PersonalData, personalDataOf } from '../../subscribers/personal-data.ts'
import type { ServiceDeps } from './deps.ts'

export interface Rights {
  /** everything held, or null when nothing is (never on file, or only a tombstone) */
  show: (target: EraseTarget) => Promise<PersonalData | null>
  /** options.onlyIf: the retention sweep's re-check of the very record it replaces */
  erase: (target: EraseTarget, options?: EraseOptions) => Promise<EraseResult>
}

declare module 'fastify' {
  interface FastifyInstance {
    rights: Rights
  }
}

export default fp(async function rights (app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { config, aws, subscribers: store } = app
  const s3 = { s3: aws.s3, bucket: config.aws.s3.bucket }
  const json = createJsonStore(s3)
  const now = opts.deps.now ?? systemClock
  const eraser = createEraser({ ...s3, store, json, now })
  app.decorate('rights', {
    show: target => personalDataOf({ store, json, now }, 'key' in target ? { key: target.key } : { key: store.keyOf(target.address), address: target.address }),
    erase: (target, options) => eraser.erase(target, options)
  } satisfies Rights)
}, { name: 'rights', dependencies: ['config', 'aws', 'subscribers'] })
