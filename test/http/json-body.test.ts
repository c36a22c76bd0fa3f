// The JSON body parser: duplicated keys at any depth are found (escapes decoded), strict JSON and the
// prototype-poisoning refusal stay as Fastify's own parser had them, and body limits still apply.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import jsonBody, { findDuplicateKey } from '../../src/http/json-body.ts'

t.test('findDuplicateKey: the first key given twice in one object, at any depth', async t => {
  t.equal(findDuplicateKey('{"email":"a@x.com","email":"b@y.com"}'), 'email')
  t.equal(findDuplicateKey('{"email":"a","em\\u0061il":"b"}'), 'email', 'escapes are decoded before comparing')
  t.equal(findDuplicateKey('{"a":{"b":{"c":1,"c":2}}}'), 'c')
  t.equal(findDuplicateKey('[{"a":1},{"a":1,"a":2}]'), 'a')
  t.equal(findDuplicateKey('{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]}'), undefined, 'the same key in different objects is fine')
  t.equal(findDuplicateKey('{"a":{"x":1},"b":{"x":1}}'), undefined)
  t.equal(findDuplicateKey('{"":1,"":2}'), '', 'even the empty key')
  t.equal(findDuplicateKey('"just a string"'), undefined)
  t.equal(findDuplicateKey('[1,2,2]'), undefined, 'array items are not keys')
})

async function app (t: Test, routeLimit?: number) {
  const a = Fastify({ bodyLimit: 200, onProtoPoisoning: 'error', onConstructorPoisoning: 'error' })
  await a.register(jsonBody)
  a.post('/', async request => ({ got: request.body }))
  a.post('/big', { ...(routeLimit ? { bodyLimit: routeLimit } : {}) }, async request => ({ got: request.body }))
  t.teardown(() => a.close())
  return a
}

const post = (a: Awaited<ReturnType<typeof app>>, payload: string, url = '/') =>
  a.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload })

t.test('the parser: duplicates refused with 400 duplicate_field, everything else as before', async t => {
  const a = await app(t)
  const dup = await post(a, '{"email":"a@x.com","email":"b@y.com"}')
  t.equal(dup.statusCode, 400)
  t.equal(dup.json().code, 'duplicate_field')
  t.same((await post(a, '{"email":"a@x.com","nested":{"k":[1,{"k":2}]}}')).json(), { got: { email: 'a@x.com', nested: { k: [1, { k: 2 }] } } })
  t.equal((await post(a, '')).json().code, 'FST_ERR_CTP_EMPTY_JSON_BODY')
  t.equal((await post(a, '{"a":1,}')).json().code, 'FST_ERR_CTP_INVALID_JSON_BODY', 'no trailing commas (jsonc-parser would allow them)')
  t.equal((await post(a, '{"a":1 /* c */}')).json().code, 'FST_ERR_CTP_INVALID_JSON_BODY', 'no comments')
  t.equal((await post(a, '{"__proto__":{"polluted":1}}')).json().code, 'FST_ERR_CTP_INVALID_JSON_BODY', 'proto poisoning is an error')
  t.equal((await post(a, '{"constructor":{"prototype":{"polluted":1}}}')).json().code, 'FST_ERR_CTP_INVALID_JSON_BODY')
  t.notOk(Object.hasOwn(Object.prototype, 'polluted'))
})

t.test('body limits: the instance limit, or a route its own', async t => {
  const a = await app(t, 1000)
  const big = JSON.stringify({ pad: 'x'.repeat(300) })
  t.equal((await post(a, big)).statusCode, 413, 'over the instance limit')
  t.equal((await post(a, big, '/big')).statusCode, 200, 'a route with a larger limit takes it')
})
