// What both Lambda handlers (HTTP in src/lambda.ts, sender in src/lambda-sender.ts) do around each
// invocation: build the app on the first one and reuse it, retry a failed start, store the funnel's counts.
import { buildApp, type App, type ServiceDeps } from './app.ts'
import type { Config } from './config.ts'
import { assertNotLocal } from './lambda-config.ts'

/**
 * `start` run on the first call, its promise kept for every later call; a start that failed is forgotten,
 * so the next call runs it again instead of the execution environment failing until Lambda retires it.
 */
export function startOnce<T> (start: () => Promise<T>): () => Promise<T> {
  let ready: Promise<T> | undefined
  return async () => {
    ready ??= start().catch(err => {
      ready = undefined
      throw err
    })
    return await ready
  }
}

/** A Lambda handler over one execution environment's app. */
export interface LambdaHandlerOf<E, C, R> {
  (event: E, context?: C): Promise<R>
  /** closes the app (tests; Lambda itself just freezes the environment) */
  close: () => Promise<void>
}

/**
 * A handler over `config`: each invocation runs `work` with what `adapt` made of the app (built on the
 * first invocation; `adapt` wraps it before it is ready, as the HTTP handler's proxy does). A start that
 * fails closes what it built. Lambda freezes the environment between invocations, so the funnel's flush
 * timer never fires: each invocation stores the counts before returning (at most once per FUNNEL_FLUSH_SECONDS).
 */
export function lambdaHandler<T, E, C, R> (
  config: Config,
  deps: ServiceDeps,
  adapt: (app: App) => T,
  work: (adapted: T, event: E, context: C | undefined) => Promise<R>
): LambdaHandlerOf<E, C, R> {
  let app: App | undefined
  const started = startOnce(async () => {
    // Here rather than at import, so that the error is in the failed invocation's log.
    assertNotLocal(config)
    const built = await buildApp(config, deps)
    try {
      const adapted = adapt(built)
      await built.ready()
      app = built
      return { adapted, app: built }
    } catch (err) {
      await built.close()
      throw err
    }
  })
  const handler = async (event: E, context?: C): Promise<R> => {
    const { adapted, app: built } = await started()
    const result = await work(adapted, event, context)
    await built.funnel.flushIfDue().catch(() => {}) // a failed flush keeps its counts for the next one
    return result
  }
  handler.close = async () => { await app?.close() }
  return handler
}
