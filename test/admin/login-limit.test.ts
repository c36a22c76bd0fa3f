// The failed-log-in limit: its counting rules on their own, then shared by two instances through a
// real Redis server, and what happens when that Redis is down.
import t from 'tap'
import { createLoginLimit, LOGIN_FAILURE_WINDOW_SECONDS } from '../../src/admin/login-limit.ts'
import { build, isolateNetwork, testConfig } from '../helper.ts'
import { freePorts } from '../process/child.ts'
import { startRedis, WITHOUT_REDIS } from '../redis-server.ts'
import { sessionMocks } from './session-mocks.ts'

const TOKEN = 'login-limit-admin-token-0123456789'


t.test('only failures count; a blocked IP waits for the rest of the window; success clears', async t => {
  const limit = createLoginLimit({ maxFailures: 2 })
  t.equal(await limit.blockedFor('192.0.2.1'), 0, 'a new IP may try')
  await limit.fail('192.0.2.1')
  t.equal(await limit.blockedFor('192.0.2.1'), 0, 'one failure of two')
  await limit.fail('192.0.2.1')
  const wait = await limit.blockedFor('192.0.2.1')
  t.ok(wait > 0 && wait <= LOGIN_FAILURE_WINDOW_SECONDS, `blocked for the rest of the 15 minutes (${wait} s)`)
  await limit.fail('192.0.2.1')
  t.ok(await limit.blockedFor('192.0.2.1') > 0, 'failing past the limit is no error')
  t.equal(await limit.blockedFor('192.0.2.2'), 0, 'per IP')
  await limit.succeed('192.0.2.1')
  t.equal(await limit.blockedFor('192.0.2.1'), 0, 'cleared')
})

t.test('with RATE_LIMIT_REDIS_URL two instances share the failures', { skip: WITHOUT_REDIS }, async t => {
  isolateNetwork(t)
  sessionMocks()
  const { url, probe } = await startRedis(t)
  const config = testConfig({ ADMIN_TOKEN: TOKEN, SENDER: 'off', ADMIN_LOGIN_MAX_FAILURES: '3', RATE_LIMIT_REDIS_URL: url })
  const a = await build(t, config)
  const b = await build(t, config)
  const login = (app: typeof a, token: string) => app.inject({ method: 'POST', url: '/admin/login', remoteAddress: '198.51.100.20', payload: { token } })
  const codes = [
    await login(a, 'wrong-token-0123456789'), await login(b, 'wrong-token-0123456789'), await login(a, 'wrong-token-0123456789'),
    await login(b, TOKEN)
  ].map(r => r.statusCode)
  t.same(codes, [401, 401, 401, 429], 'three failures over two instances block the IP on both')
  const keys = await probe.keys('leadlink-admin-login-failures*')
  t.equal(keys.length, 1, 'the count lives in Redis')
  t.notMatch(keys[0], TOKEN)
})

t.test('Redis down: each instance still counts failures on its own', async t => {
  isolateNetwork(t)
  sessionMocks()
  const [port] = await freePorts(1)
  const app = await build(t, testConfig({ ADMIN_TOKEN: TOKEN, SENDER: 'off', ADMIN_LOGIN_MAX_FAILURES: '2', RATE_LIMIT_REDIS_URL: `redis://127.0.0.1:${port}` }))
  const login = (token: string) => app.inject({ method: 'POST', url: '/admin/login', remoteAddress: '198.51.100.21', payload: { token } })
  t.equal((await login(TOKEN)).statusCode, 303, 'the right token works')
  const codes = [await login('wrong-token-0123456789'), await login('wrong-token-0123456789'), await login(TOKEN)].map(r => r.statusCode)
  t.same(codes, [401, 401, 429], 'the limit holds without Redis')
})
