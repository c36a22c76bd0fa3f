// The start both Lambda handlers share: the app built on the first invocation and reused by the later
// ones, a failed start retried by the next invocation (and what it built closed). The funnel's counts
// stored by each invocation: test/lambda/handler.test.ts.
import t from 'tap'
import type { App } from '../../src/app.ts'
import { lambdaConfig } from '../../src/lambda-config.ts'
import { lambdaHandler, startOnce } from '../../src/lambda-start.ts'
import { isolateNetwork, startEmulators } from '../helper.ts'
import { lambdaEnv } from './env.ts'

t.test('startOnce: a failed start runs again on the next call, a good one is kept', async t => {
  let starts = 0
  const started = startOnce(async () => {
    starts++
    if (starts === 1) throw new Error('cold start failed')
    return { environment: starts }
  })
  await t.rejects(started(), { message: 'cold start failed' })
  const [first, second] = await Promise.all([started(), started()])
  t.equal(first, second, 'calls during one start share it')
  t.equal(await started(), first, 'later calls get the same result')
  t.equal(starts, 2, 'started twice: the failure, then the one kept')
})

t.test('lambdaHandler: a start that fails closes its app and is retried; the next app serves every invocation', async t => {
  isolateNetwork(t)
  const stack = await startEmulators(t)
  const built: App[] = []
  const closed: App[] = []
  const adapt = (app: App) => {
    built.push(app)
    app.addHook('onClose', async () => { closed.push(app) })
    if (built.length === 1) throw new Error('adapter failed')
    return app
  }
  // The event names a URL; the work answers its status, and hands the app out for a look.
  const lambda = lambdaHandler(lambdaConfig(lambdaEnv(stack)), { clientOptions: { credentials: stack.credentials } }, adapt,
    async (app, url: string) => ({ app, status: (await app.inject({ method: 'GET', url })).statusCode }))
  t.teardown(() => lambda.close())

  await t.rejects(lambda('/healthz'), { message: 'adapter failed' })
  t.same(closed, built, 'the failed start closed the app it built')

  t.equal((await lambda('/healthz')).status, 200, 'the next invocation starts again')
  t.equal((await lambda('/healthz')).app, built[1], 'and later ones reuse its app')
  t.equal(built.length, 2)

  await lambda.close()
  t.equal(closed.at(-1), built[1], 'close closes the app in use')
})
