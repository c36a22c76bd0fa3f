// Validators and serializers precompiled by the build: the app's start-up compiles none of them, a
// schema the build has not seen is compiled as before, and the generated code behaves like Ajv's.
import t from 'tap'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { loadPrecompiled, precompiledCompilers, recordingCompilers, renderStore, type PrecompiledStore, type Recorded } from '../../src/schema/precompiled.ts'
import { tempDir, testConfig } from '../helper.ts'
import { childEnv, runNode } from '../process/child.ts'

const BUILT = loadPrecompiled()

t.test('the build covers every route: start-up compiles nothing, with every optional feature on or off', async t => {
  t.ok(BUILT, 'npm run build wrote dist/schemas.cjs (npm test builds first)')
  const featureSets: Array<Record<string, string>> = [{}, { ADMIN_TOKEN: 'an-admin-token-of-16+', SNS_TOPIC_ARNS: 'arn:aws:sns:us-east-1:123456789012:bounces', CAPTCHA: 'altcha', METRICS_ENABLED: 'false' }]
  for (const overrides of featureSets) {
    const app = await buildApp(testConfig({ SENDER: 'off', ...overrides }), { clientOptions: { credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } } }, { logger: false })
    await app.ready()
    t.equal(app.schemaStats.compiled, 0, `nothing compiled at start-up (${Object.keys(overrides).join(', ') || 'defaults'})`)
    t.ok(app.schemaStats.precompiled >= 20, `${app.schemaStats.precompiled} validators and serializers from the build`)
    await app.close()
  }
})

const Body = {
  type: 'object',
  required: ['email'],
  properties: { email: { type: 'string', maxLength: 12 }, count: { type: 'integer', default: 1 } }
} as const
const Reply = { type: 'object', properties: { email: { type: 'string' }, count: { type: 'integer' } } } as const

function echoApp (schemaController: FastifyServerOptions['schemaController'], body: object = Body): FastifyInstance {
  const app = Fastify(schemaController ? { schemaController } : {})
  // `secret` is not in the reply schema: the serializer must drop it.
  app.post('/echo', { schema: { body, response: { 200: Reply } } }, async request => ({ ...(request.body as object), secret: 'never sent' }))
  return app
}

async function record (): Promise<{ recorded: Recorded, store: PrecompiledStore }> {
  const recorded: Recorded = { validators: new Map(), serializers: new Map() }
  const app = echoApp({ compilersFactory: recordingCompilers(recorded) })
  await app.ready()
  await app.close()
  const dir = await tempDir(t)
  const file = join(dir, 'schemas.cjs')
  await writeFile(file, renderStore(recorded))
  const store = loadPrecompiled(file)
  if (!store) throw new Error('the rendered store did not load')
  return { recorded, store }
}

async function behaviour (app: FastifyInstance): Promise<Array<[number, unknown]>> {
  const out: Array<[number, unknown]> = []
  for (const payload of [{ email: 'a@b.co' }, { email: 'a@b.co', count: '3' }, { email: 'far-too-long@example.com' }, { count: 2 }]) {
    const res = await app.inject({ method: 'POST', url: '/echo', payload })
    out.push([res.statusCode, res.json()])
  }
  await app.close()
  return out
}

t.test('precompiled code behaves as Fastify\'s own compilers: coercion, defaults, errors, filtered replies', async t => {
  const { recorded, store } = await record()
  t.equal(recorded.validators.size, 1)
  t.equal(recorded.serializers.size, 1)
  const { stats, ...factory } = precompiledCompilers(store)
  const precompiled = await behaviour(echoApp({ compilersFactory: factory }))
  t.same(stats, { precompiled: 2, compiled: 0 })
  const expected = await behaviour(echoApp(undefined))
  t.same(precompiled, expected)
  t.same(precompiled[1], [200, { email: 'a@b.co', count: 3 }], 'coerced, and nothing outside the reply schema')
  t.same(precompiled[0], [200, { email: 'a@b.co', count: 1 }], 'default filled in')
  t.equal(precompiled[2]?.[0], 400)
  t.match(precompiled[2]?.[1], { message: 'body/email must NOT have more than 12 characters' })
  t.match(precompiled[3]?.[1], { message: "body must have required property 'email'" })
})

t.test('a schema changed since the build is compiled at start-up, never matched to stale code', async t => {
  const { store } = await record()
  const { stats, ...factory } = precompiledCompilers(store)
  const changed = { ...Body, properties: { ...Body.properties, email: { type: 'string', maxLength: 40 } } }
  const app = echoApp({ compilersFactory: factory }, changed)
  const res = await app.inject({ method: 'POST', url: '/echo', payload: { email: 'far-too-long@example.com' } })
  t.equal(res.statusCode, 200, 'the new limit applies')
  t.same(stats, { precompiled: 1, compiled: 1 }, 'the reply schema did not change: still precompiled')
  await app.close()
})

t.test('no build yet: every schema is compiled at start-up', async t => {
  const dir = await tempDir(t)
  t.equal(loadPrecompiled(join(dir, 'missing.cjs')), null)
  const { stats, ...factory } = precompiledCompilers(null)
  const results = await behaviour(echoApp({ compilersFactory: factory }))
  t.same(stats, { precompiled: 0, compiled: 2 })
  t.same(results.map(([status]) => status), [200, 200, 400, 400])
})

t.test('a damaged build fails loudly instead of silently compiling', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'schemas.cjs')
  await writeFile(file, "'use strict'\nexports.validators = {\n")
  t.throws(() => loadPrecompiled(file), SyntaxError)
})

t.test('header schemas are refused with a clear error (Fastify lower-cases them only for its own compiler)', async t => {
  const { stats, ...factory } = precompiledCompilers(BUILT)
  const app = Fastify({ schemaController: { compilersFactory: factory } })
  app.get('/h', { schema: { headers: { type: 'object', properties: { 'X-Thing': { type: 'string' } } } } }, async () => ({}))
  await t.rejects(async () => { await app.ready() }, /GET \/h: header schemas are not supported with precompiled validators/)
  t.equal(stats.compiled, 0)
})

t.test('with the build, start-up never loads Ajv or a code generator (a fresh process)', async t => {
  const script = `import { createRequire } from 'node:module'
    const { buildApp } = await import(${JSON.stringify(new URL('../../src/app.ts', import.meta.url).href)})
    const { loadConfig } = await import(${JSON.stringify(new URL('../../src/config.ts', import.meta.url).href)})
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', S3_BUCKET: 'leadlink-test', S3_ENDPOINT: 'http://127.0.0.1:9', SES_ENDPOINT: 'http://127.0.0.1:9', SES_FROM: 'a@b.co', TOKEN_SECRET: 'x'.repeat(32), ADDRESS_KEY: 'k'.repeat(32), SENDER: 'off' })
    const app = await buildApp(config, { clientOptions: { credentials: { accessKeyId: 'AKID', secretAccessKey: 's' } } }, { logger: false })
    await app.ready()
    const loaded = Object.keys(createRequire(import.meta.url).cache)
    process.stdout.write(JSON.stringify({ stats: app.schemaStats, loaded }))
    await app.close()`
  const run = await runNode(t, ['--input-type=module', '-e', script], childEnv())
  t.equal(run.code, 0, run.stderr)
  const { stats, loaded } = JSON.parse(run.stdout) as { stats: { compiled: number }, loaded: string[] }
  t.equal(stats.compiled, 0)
  t.ok(loaded.some(f => f.includes('/node_modules/fastify/')), 'the module cache is what we think it is')
  t.same(loaded.filter(f => /\/node_modules\/(ajv\/dist\/(ajv|core)\.js|fast-json-stringify\/index\.js|@fastify\/ajv-compiler\/)/.test(f)), [], 'no Ajv, no serializer code generator')
})
