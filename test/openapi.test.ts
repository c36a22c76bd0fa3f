// /docs/json: a valid OpenAPI 3 document generated from the route schemas, with the JSON contract of
// POST /subscribe (202 and 422), pages documented as text/html, and internal routes left out.
import t from 'tap'
import SwaggerParser from '@apidevtools/swagger-parser'
import { buildApp } from '../src/app.ts'
import { isolateNetwork, startEmulators } from './helper.ts'

t.test('the OpenAPI document', async t => {
  isolateNetwork(t)
  const stack = await startEmulators(t)
  const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/docs/json' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], 'application/json')
  const doc = res.json()
  t.equal(doc.openapi, '3.0.3')
  // validate() dereferences in place: give it a copy.
  await t.resolves(SwaggerParser.validate(structuredClone(doc)), 'valid against the OpenAPI 3.0 schema')

  const subscribe = doc.paths['/subscribe'].post
  t.ok(subscribe.summary)
  t.same(Object.keys(subscribe.requestBody.content).sort(), ['application/json', 'application/x-www-form-urlencoded'])
  const body = subscribe.requestBody.content['application/json'].schema
  t.same(body.required, ['email'])
  t.ok(body.properties.email.description)
  const accepted = subscribe.responses['202'].content['application/json'].schema
  t.same(accepted.required, ['status', 'message'])
  t.same(accepted.properties.status.enum, ['accepted'])
  const invalid = subscribe.responses['422']
  t.match(invalid.description, 'invalid input')
  t.same(invalid.content['application/json'].schema.required, ['code', 'message'])
  t.same(Object.keys(invalid.content['application/json'].schema.properties), ['code', 'message', 'field'])
  t.ok(subscribe.responses['303'], 'the form post\'s redirect')
  t.notOk(subscribe.responses['303'].content, 'with no body')
  t.ok(subscribe.responses['5XX'])

  t.same(Object.keys(doc.paths['/readyz'].get.responses).sort(), ['200', '503'])
  t.ok(doc.paths['/d/{token}'].get.responses['302'])
  t.ok(doc.paths['/u/{token}'].post.responses['200'].content['application/json'])
  t.same(Object.keys(doc.paths['/c/{token}'].get.responses['200'].content), ['text/html'], 'the confirm page is HTML')
  t.same(Object.keys(doc.paths['/c/{token}'].get.responses['4XX'].content), ['application/json'], 'its errors, with Accept: application/json, are JSON')
  const landing = doc.paths['/'].get
  t.same(landing.tags, ['pages'])
  t.same(Object.keys(landing.responses['200'].content), ['text/html'], 'pages are text/html')
  for (const hidden of ['/metrics', '/docs/json', '/assets/site.css', '/assets/subscribe.js']) {
    t.notOk(doc.paths[hidden], `${hidden} is not part of the API`)
  }
  t.same(subscribe.tags, ['signup'])
  t.same(doc.paths['/c/{token}'].post.tags, ['recipient links'])
  t.same(doc.paths['/readyz'].get.tags, ['operations'])
})
