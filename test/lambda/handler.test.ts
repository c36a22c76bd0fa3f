// The Lambda handler invoked with API Gateway HTTP API (payload v2) events, against the real emulators:
// a form post (base64 body), a JSON post, the fresh-link redirect; one app reused across invocations;
// no local mode on Lambda.
import t from 'tap'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { createLambdaHandler, handler, LambdaConfigError, type LambdaResult } from '../../src/lambda.ts'
import { createAddressKeys } from '../../src/subscribers/address.ts'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import { eventually, sentEmails, startEmulators } from '../helper.ts'
import { childEnv, runNode } from '../process/child.ts'
import { httpApiEvent, lambdaEnv, SAMPLE, startWithWhitepaper } from './env.ts'


const CONTEXT = { functionName: 'leadlink', awsRequestId: 'test', getRemainingTimeInMillis: () => 29_000 }

t.test('API Gateway v2 events: form post, JSON post, fresh-link redirect, one app per environment', async t => {
  const stack = await startWithWhitepaper(t)

  // This function sends too (SENDER on), and its per-IP limit is the subject of step 4.
  const env = lambdaEnv(stack, { SENDER: 'on', CATALOG_REFRESH_SECONDS: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '2' })
  const lambda = createLambdaHandler(env, { clientOptions: { credentials: stack.credentials } })
  t.teardown(() => lambda.close())
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials })
  t.teardown(() => s3.destroy())

  // 1. The landing-page form, body base64-encoded as API Gateway sends it.
  const form = await lambda(httpApiEvent({
    method: 'POST', path: '/subscribe', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'email=ann%40example.com', base64: true, sourceIp: '203.0.113.5'
  }), CONTEXT)
  t.equal(form.statusCode, 303)
  t.equal(form.headers.location, '/thanks')
  for (const [name, value] of Object.entries(form.headers)) t.type(value, 'string', `${name}: HTTP APIs take string headers only`)
  const stored = await s3.send(new GetObjectCommand({ Bucket: env.S3_BUCKET, Key: `subscribers/${createAddressKeys(env.ADDRESS_KEY).keyOf('ann@example.com')}.json` }))
  const record = JSON.parse(await stored.Body!.transformToString()) as SubscriberRecord
  t.equal(record.status, 'pending')
  t.match(record.signups[0], { ip: '203.0.113.5', userAgent: 'Mozilla/5.0 (lambda test)', slug: 'default' }, 'the client IP is the event\'s sourceIp')

  // 2. The JSON twin, plain body.
  const json = await lambda(httpApiEvent({
    method: 'POST', path: '/subscribe', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ email: 'bo@example.com' }), sourceIp: '203.0.113.6'
  }), CONTEXT)
  t.equal(json.statusCode, 202)
  t.match(json.headers['content-type'], 'application/json')
  t.same(JSON.parse(json.body), { status: 'accepted', message: 'Check your inbox: the whitepaper is on its way.' })
  const invalid = await lambda(httpApiEvent({
    method: 'POST', path: '/subscribe', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{"email":"nope"}', sourceIp: '203.0.113.6'
  }), CONTEXT)
  t.equal(invalid.statusCode, 422)
  t.equal(JSON.parse(invalid.body).code, 'email_invalid')

  // 3. The fresh-link link from Ann's email: a 302 to a presigned URL that serves the PDF from the bucket.
  const email = await eventually(async () => (await sentEmails(stack.sesUrl)).find(e => e.destination.to.includes('ann@example.com')))
  const renew = new URL(email.body.text.match(/https:\/\/whitepapers\.example\.com\/d\/[A-Za-z0-9_-]+/)![0])
  const fresh = await lambda(httpApiEvent({ method: 'GET', path: renew.pathname }), CONTEXT)
  t.equal(fresh.statusCode, 302)
  t.equal(fresh.headers['cache-control'], 'no-store')
  const location = new URL(fresh.headers.location!)
  t.equal(location.origin, new URL(stack.config.aws.s3.endpoint!).origin)
  t.match(location.pathname, /^\/leadlink-local\/whitepapers\/default\/versions\/[^/]+\/Guide\.pdf$/)
  t.equal(location.searchParams.get('X-Amz-Expires'), '300')
  t.ok(location.searchParams.get('X-Amz-Signature'))
  const pdf = await fetch(location)
  t.equal(pdf.status, 200)
  t.same(Buffer.from(await pdf.arrayBuffer()), SAMPLE, 'the bytes come straight from the bucket, not through Lambda')

  // 4. One app across invocations: the per-IP limit (2 a minute) remembers the first two posts.
  const third = await lambda(httpApiEvent({
    method: 'POST', path: '/subscribe', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'email=cy%40example.com', sourceIp: '203.0.113.6'
  }), CONTEXT)
  t.equal(third.statusCode, 429)
  t.ok(Number(third.headers['retry-after']) > 0)

  // 5. The funnel's counts are in the bucket without a timer (Lambda freezes the environment between
  // invocations): the handler stored them before answering.
  const funnelObjects = await s3.send(new ListObjectsV2Command({ Bucket: env.S3_BUCKET, Prefix: 'funnel/' }))
  const bodies = await Promise.all((funnelObjects.Contents ?? []).map(async o => await (await s3.send(new GetObjectCommand({ Bucket: env.S3_BUCKET, Key: o.Key }))).Body!.transformToString()))
  t.match(bodies.join('\n'), /"submissions":\s*[1-9]/, 'funnel counts stored by the invocations themselves')
})

t.test('no local mode on Lambda: a clear error, on every invocation', async t => {
  const lambda = createLambdaHandler({ NODE_ENV: 'development', LOG_LEVEL: 'silent' })
  t.teardown(() => lambda.close())
  const event = httpApiEvent({ method: 'GET', path: '/healthz' })
  await t.rejects(lambda(event, CONTEXT), { name: 'LambdaConfigError', message: /needs S3_BUCKET, SES_FROM, PUBLIC_URL, TOKEN_SECRET and ADDRESS_KEY/ })
  await t.rejects(lambda(event, CONTEXT), LambdaConfigError, 'a failed start is retried, and fails the same way')
  // The exported handler reads process.env: here (no S3_BUCKET) that is local mode too.
  t.notOk(process.env.S3_BUCKET)
  await t.rejects(handler(event, CONTEXT), LambdaConfigError)
})

t.test('production settings missing: the config error names each one', async t => {
  t.throws(() => createLambdaHandler({ NODE_ENV: 'production', S3_BUCKET: 'my-bucket' }), {
    name: 'Error',
    message: /SES_FROM is required[\s\S]*PUBLIC_URL is required[\s\S]*TOKEN_SECRET is required[\s\S]*ADDRESS_KEY is required/
  })
})

t.test('lambda.mjs, the file the Lambda runtime loads ("lambda.handler"): the bundle answers events in a fresh process', async t => {
  const stack = await startEmulators(t)
  // A cold start as Lambda does it: a new Node process imports lambda.mjs and invokes `handler`.
  const script = `const { handler } = await import(${JSON.stringify(new URL('../../lambda.mjs', import.meta.url).href)})
    const results = []
    for (const event of JSON.parse(process.env.EVENTS)) results.push(await handler(event, {}))
    process.stdout.write(JSON.stringify(results))`
  const events = [
    httpApiEvent({ method: 'GET', path: '/healthz' }),
    httpApiEvent({ method: 'POST', path: '/subscribe', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{"email":"nope"}' })
  ]
  const run = await runNode(t, ['--input-type=module', '-e', script], childEnv({
    ...lambdaEnv(stack),
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
    EVENTS: JSON.stringify(events)
  }))
  t.equal(run.code, 0, run.stderr)
  const [health, invalid] = JSON.parse(run.stdout) as LambdaResult[]
  t.equal(health?.statusCode, 200)
  t.same(JSON.parse(health?.body ?? ''), { status: 'ok' })
  t.equal(invalid?.statusCode, 422, 'validated by the precompiled schema and the app\'s own checks')
  t.equal(JSON.parse(invalid?.body ?? '{}').code, 'email_invalid')
})
