// Security headers on every page (@fastify/helmet, a CSP with no inline script), and the ALTCHA
// proof-of-work: the widget and its no-JavaScript notice, a challenge solved here, replay refused.
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { solveChallenge, type Challenge, type Solution } from 'altcha-lib'
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.ts'
import { createTokenSigner } from '../../src/recipient-links/tokens.ts'
import { build, eventually, isolateNetwork, sentEmails, startEmulators, testConfig, type App } from '../helper.ts'
import { keyOf, mockPointer } from '../aws-mocks.ts'
import { FORM, form, inlineHandlers, inlineScripts, JSON_ACCEPT } from './support.ts'

type Headers = Record<string, string | string[] | number | undefined>

/** The CSP as directive → sources. */
function csp (headers: Headers): Map<string, string[]> {
  const value = String(headers['content-security-policy'] ?? '')
  return new Map(value.split(';').map(d => d.trim()).filter(Boolean).map(d => {
    const [name, ...sources] = d.split(/\s+/)
    return [name as string, sources]
  }))
}

/** What every page must carry, whatever it says. */
function assertSecurityHeaders (t: Test, headers: Headers, label: string, { captcha = false, referrer = 'no-referrer' } = {}) {
  const policy = csp(headers)
  t.same(policy.get('script-src'), ["'self'"], `${label}: scripts only from this origin`)
  t.notOk(policy.get('script-src')?.some(s => s === "'unsafe-inline'" || s === "'unsafe-eval'" || s.startsWith("'nonce-")), `${label}: no inline script allowed, so no nonce needed`)
  t.same(policy.get('default-src'), ["'self'"], `${label}: default-src 'self'`)
  t.same(policy.get('frame-ancestors'), ["'none'"], `${label}: never framed`)
  t.same(policy.get('object-src'), ["'none'"], `${label}: no plugins`)
  t.same(policy.get('base-uri'), ["'self'"], `${label}: no <base> hijack`)
  // The ALTCHA widget styles its shadow DOM inline; without it no inline style either.
  t.equal(policy.get('style-src')?.includes("'unsafe-inline'"), captcha, `${label}: inline style only for the ALTCHA widget`)
  t.equal(headers['x-content-type-options'], 'nosniff', `${label}: nosniff`)
  // Pages with the form say same-origin, so that the post carries a real Origin; they hold no token.
  t.equal(headers['referrer-policy'], referrer, `${label}: referrer policy ${referrer}`)
  t.equal(headers['x-frame-options'], 'SAMEORIGIN', `${label}: X-Frame-Options for old browsers`)
}

/** A page's script tags all load files; none runs inline code. */
function assertNoInlineScript (t: Test, body: string, label: string) {
  t.same(inlineScripts(body), [], `${label}: every <script> has a src and no body`)
  t.same(inlineHandlers(body), [], `${label}: no on…= handler attributes`)
  t.notMatch(body, /javascript:/i, `${label}: no javascript: URLs`)
  const sources = [...body.matchAll(/<script\b[^>]*\ssrc="([^"]*)"/g)].map(m => m[1] ?? '')
  t.ok(sources.every(src => /^\/assets\/[a-z-]+\.js$/.test(src)), `${label}: scripts come from this origin's /assets (${sources.join(', ') || 'none'})`)
}

const SECRETS = testConfig().links.tokenSecrets
const tokens = createTokenSigner(SECRETS)
const HASH = keyOf('jane@example.com')
const confirmToken = tokens.sign({ purpose: 'confirm', addressHash: HASH, slug: 'default', expiresAt: Math.floor(Date.now() / 1000) + 3600 })
const unsubscribeToken = tokens.sign({ purpose: 'unsubscribe', addressHash: HASH, slug: 'default', expiresAt: 0 })

const PAGES: Array<{ label: string, url: string, method?: 'GET' | 'POST', headers?: Record<string, string>, payload?: string, status: number, referrer?: string }> = [
  { label: 'landing page', url: '/', status: 200, referrer: 'same-origin' },
  { label: 'thank-you page', url: '/thanks', status: 200 },
  { label: 'confirm page', url: `/c/${confirmToken}`, status: 200 },
  { label: 'unsubscribe page', url: `/u/${unsubscribeToken}`, status: 200 },
  { label: 'form re-rendered with an error', url: '/subscribe', method: 'POST', headers: FORM, payload: form({ email: '<script>alert(1)</script>' }), status: 422, referrer: 'same-origin' },
  { label: 'invalid link page', url: '/c/not-a-token', status: 400 },
  { label: 'not-found page', url: '/no/such/page', status: 404 },
  { label: 'unsupported media type page', url: '/subscribe', method: 'POST', headers: { 'content-type': 'application/xml' }, payload: '<x/>', status: 415 }
]

t.test('pages: helmet headers, a CSP with no inline script, and no inline script in any page', async t => {
  isolateNetwork(t)
  mockPointer()
  const app = await build(t)
  const landing = await app.inject({ url: '/' })
  t.match(landing.body, '<script src="/assets/subscribe.js" defer></script>', 'the landing page enhances the form with a file, not inline code')
  for (const page of PAGES) {
    const res = await app.inject({ method: page.method ?? 'GET', url: page.url, headers: { accept: 'text/html', ...page.headers }, ...(page.payload ? { payload: page.payload } : {}) })
    t.equal(res.statusCode, page.status, `${page.label}: ${page.status}`)
    t.match(res.headers['content-type'], 'text/html', `${page.label}: HTML`)
    assertSecurityHeaders(t, res.headers, page.label, page.referrer ? { referrer: page.referrer } : {})
    assertNoInlineScript(t, res.body, page.label)
  }
  t.match((await app.inject({ url: '/c/not-a-token' })).headers['cache-control'], 'no-store', 'token pages are not cached')

  const script = await app.inject({ url: '/assets/subscribe.js' })
  t.equal(script.statusCode, 200, 'the page script is served from this origin')
  t.match(script.headers['content-type'], 'text/javascript')
  t.equal(script.headers['x-content-type-options'], 'nosniff')

  const json = await app.inject({ method: 'POST', url: '/subscribe', headers: JSON_ACCEPT, payload: { email: 'nope' } })
  t.equal(json.statusCode, 422)
  t.equal(json.headers['x-content-type-options'], 'nosniff', 'JSON answers are not sniffed either')
})

t.test('CAPTCHA=altcha: the widget, a notice for visitors without JavaScript, the script and the challenge', async t => {
  isolateNetwork(t)
  mockPointer()
  const app = await build(t, testConfig({ CAPTCHA: 'altcha' }))
  const landing = await app.inject({ url: '/' })
  t.equal(landing.statusCode, 200)
  assertSecurityHeaders(t, landing.headers, 'landing page with ALTCHA', { captcha: true, referrer: 'same-origin' })
  assertNoInlineScript(t, landing.body, 'landing page with ALTCHA')
  t.match(landing.body, /<form method="post" action="\/subscribe"[^>]*>[\s\S]*<altcha-widget challenge="\/altcha\/challenge" name="altcha"><\/altcha-widget>[\s\S]*<\/form>/, 'the widget sits in the form')
  t.match(landing.body, /<noscript>[\s\S]*needs JavaScript[\s\S]*<\/noscript>/, 'visitors without JavaScript are told why it is needed')
  t.match(landing.body, '<script type="module" src="/assets/altcha.js"></script>', 'the widget is loaded from this origin')

  const widget = await app.inject({ url: '/assets/altcha.js' })
  t.equal(widget.statusCode, 200)
  t.match(widget.headers['content-type'], 'text/javascript')
  t.match(widget.body, 'altcha-widget', 'it is the widget')

  const challenge = await app.inject({ url: '/altcha/challenge' })
  t.equal(challenge.statusCode, 200)
  t.match(challenge.headers['content-type'], 'application/json')
  t.match(challenge.headers['cache-control'], 'no-store')
  t.match(challenge.json(), {
    parameters: { algorithm: 'PBKDF2/SHA-256', cost: Number, nonce: /^[0-9a-f]+$/, salt: /^[0-9a-f]+$/, keyPrefix: /^[0-9a-f]+$/, expiresAt: Number },
    signature: /^[0-9a-f]{64}$/
  }, 'a signed challenge')
  t.ok(challenge.json().parameters.expiresAt * 1000 > Date.now(), 'that expires in the future')

  const off = await build(t)
  t.notMatch((await off.inject({ url: '/' })).body, /altcha|noscript/, 'CAPTCHA=off: no widget, and the form works without JavaScript')
  t.equal((await off.inject({ url: '/altcha/challenge', headers: JSON_ACCEPT })).statusCode, 404)
})

/** Solves the challenge as the widget would, spread over a few concurrent solvers (counterStep). */
async function solve (challenge: Challenge): Promise<Solution> {
  const controller = new AbortController()
  const solvers = 4
  const found = await Promise.all(Array.from({ length: solvers }, (_, i) =>
    solveChallenge({ challenge, deriveKey, counterStart: i, counterStep: solvers, controller, timeout: 60_000 }).then(solution => {
      if (solution) controller.abort()
      return solution
    })))
  const solution = found.find(s => s !== null)
  if (!solution) throw new Error('challenge not solved')
  return solution
}

/** The widget's form value: base64 of { challenge, solution }. */
const payloadOf = (challenge: Challenge, solution: Solution) =>
  Buffer.from(JSON.stringify({ challenge: { parameters: challenge.parameters, signature: challenge.signature }, solution: { counter: solution.counter, derivedKey: solution.derivedKey } })).toString('base64')

t.test('ALTCHA round trip: a solved challenge is accepted once; a replay, a tampered or a missing one is refused with nothing written', async t => {
  const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
  const stack = await startEmulators(t, { CAPTCHA: 'altcha', BOT_MIN_FILL_SECONDS: '0', ADDRESS_COOLDOWN_SECONDS: '0' })
  const app: App = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => app.close())
  await app.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials })
  t.teardown(() => s3.destroy())
  const bucket = stack.config.aws.s3.bucket
  const keys = async (prefix: string) => ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map(o => o.Key ?? '')
  const exists = (address: string) => s3.send(new GetObjectCommand({ Bucket: bucket, Key: `subscribers/${keyOf(address, stack.config)}.json` })).then(() => true, () => false)
  const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}@example.com`
  // A client address per request: the per-IP rate limit is not what this test is about.
  let client = 0
  const subscribe = (fields: Record<string, string>, headers: Record<string, string> = { ...FORM, ...JSON_ACCEPT }) =>
    app.inject({ method: 'POST', url: '/subscribe', headers, payload: form(fields), remoteAddress: `192.0.2.${++client}` })

  const challenge = (await app.inject({ url: '/altcha/challenge' })).json() as Challenge
  const solution = await solve(challenge)
  const payload = payloadOf(challenge, solution)

  const person = unique('solver')
  const first = await subscribe({ email: person, altcha: payload })
  t.equal(first.statusCode, 202, 'a solved challenge is accepted')
  const mails = await eventually(async () => {
    const m = (await sentEmails(stack.sesUrl)).filter(e => e.destination.to.includes(person))
    return m.length > 0 ? m : undefined
  })
  t.equal(mails.length, 1, 'and the email is sent')
  const claimed = await keys('altcha/')
  t.equal(claimed.length, 1, 'the solution is claimed in S3 (altcha/<hash>)')
  t.match(claimed[0], /^altcha\/[0-9a-f]{64}$/)

  const refusals: Array<[string, Record<string, string>]> = [
    ['the same payload again (replay)', { altcha: payload }],
    ['no payload', {}],
    ['an empty payload', { altcha: '' }],
    ['garbage', { altcha: 'not-base64-at-all!' }],
    ['base64 of something that is not JSON', { altcha: Buffer.from('hello').toString('base64') }],
    ['a wrong solution', { altcha: payloadOf(challenge, { ...solution, counter: solution.counter + 1 }) }],
    ['a challenge made easier (signature broken)', { altcha: payloadOf({ ...challenge, parameters: { ...challenge.parameters, cost: 1 } }, solution) }],
    ['an unsigned challenge', { altcha: Buffer.from(JSON.stringify({ challenge: { parameters: challenge.parameters }, solution })).toString('base64') }]
  ]
  for (const [name, fields] of refusals) {
    const address = unique('refused')
    const res = await subscribe({ email: address, ...fields })
    t.equal(res.statusCode, 422, `${name}: 422`)
    t.match(res.json(), { code: 'captcha_failed', field: 'altcha' }, `${name}: captcha_failed`)
    t.notOk(await exists(address), `${name}: no record`)
  }
  t.same(await keys('altcha/'), claimed, 'refused payloads claim nothing')

  // Another instance on the same bucket: the claim is in S3, not in one process's memory.
  const other: App = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => other.close())
  const elsewhere = unique('elsewhere')
  const replayed = await other.inject({ method: 'POST', url: '/subscribe', headers: { ...FORM, ...JSON_ACCEPT }, payload: form({ email: elsewhere, altcha: payload }), remoteAddress: '198.51.100.78' })
  t.equal(replayed.statusCode, 422, 'a replay on another instance is refused too')
  t.equal(replayed.json().code, 'captcha_failed')
  t.notOk(await exists(elsewhere))

  // One fresh solution raced to both instances at once: exactly one wins the conditional create.
  const second = (await other.inject({ url: '/altcha/challenge' })).json() as Challenge
  const raced = payloadOf(second, await solve(second))
  const racers = [unique('racer'), unique('racer')] as const
  const race = await Promise.all([
    subscribe({ email: racers[0], altcha: raced }),
    other.inject({ method: 'POST', url: '/subscribe', headers: { ...FORM, ...JSON_ACCEPT }, payload: form({ email: racers[1], altcha: raced }), remoteAddress: '198.51.100.79' })
  ])
  t.same(race.map(r => r.statusCode).sort(), [202, 422], 'one accepted, one refused')
  t.same((await Promise.all(racers.map(exists))).filter(Boolean).length, 1, 'one record')

  const nojs = unique('nojs')
  const html = await subscribe({ email: nojs }, FORM)
  t.equal(html.statusCode, 422, 'a form post without the solution (no JavaScript)…')
  t.match(html.body, '<p class="field-error" role="alert">Please wait for the “I&#39;m not a robot” check to finish, then send the form again.</p>', '…re-renders the form with the reason')
  t.match(html.body, '<altcha-widget', 'and the widget again')
  assertNoInlineScript(t, html.body, 'the re-rendered form')
  t.notOk(await exists(nojs), 'and nothing is recorded')

  await eventually(async () => (await keys('outbox/')).filter(k => !k.startsWith('outbox/settle/')).length === 0 || undefined)
  const sent = (await sentEmails(stack.sesUrl)).filter(e => /^(refused|nojs|elsewhere)-/.test(e.destination.to[0] ?? ''))
  t.same(sent, [], 'no email to any refused address')
})
