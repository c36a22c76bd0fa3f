// RATE_LIMIT_REDIS_URL: two instances share one count per client IP through a real Redis server.
import t from 'tap'
import { build, isolateNetwork, testConfig } from '../helper.ts'
import { freePorts } from '../process/child.ts'
import { startRedis, WITHOUT_REDIS } from '../redis-server.ts'


t.test('two instances, one limit', { skip: WITHOUT_REDIS }, async t => {
  isolateNetwork(t)
  const { url, probe } = await startRedis(t)
  const config = testConfig({ RATE_LIMIT_PER_IP_PER_MINUTE: '3', RATE_LIMIT_REDIS_URL: url, SENDER: 'off' })
  const a = await build(t, config)
  const b = await build(t, config)
  const post = (app: typeof a, ip: string) => app.inject({
    method: 'POST', url: '/subscribe', remoteAddress: ip, headers: { accept: 'application/json' }, payload: { email: 'not an address' }
  })
  const codes = [await post(a, '198.51.100.7'), await post(b, '198.51.100.7'), await post(a, '198.51.100.7'), await post(b, '198.51.100.7')].map(r => r.statusCode)
  t.same(codes, [422, 422, 422, 429], 'the fourth request from one IP is refused, whichever instance it reaches')
  t.equal((await post(b, '198.51.100.8')).statusCode, 422, 'another IP has its own count')
  const keys = await probe.keys('leadlink-rl:*')
  t.ok(keys.length >= 1, 'the counts live in Redis')
})

t.test('Redis down: requests still go through (the limit is skipped, not the service)', async t => {
  isolateNetwork(t)
  const [port] = await freePorts(1)
  const app = await build(t, testConfig({ RATE_LIMIT_PER_IP_PER_MINUTE: '1', RATE_LIMIT_REDIS_URL: `redis://127.0.0.1:${port}`, SENDER: 'off' }))
  const codes = []
  for (let i = 0; i < 3; i++) {
    codes.push((await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: 'bad' } })).statusCode)
  }
  t.same(codes, [422, 422, 422])
})

t.test('a form stamp used on one instance is used on all (Redis)', { skip: WITHOUT_REDIS }, async t => {
  isolateNetwork(t)
  const { url, probe } = await startRedis(t)
  const config = testConfig({ RATE_LIMIT_REDIS_URL: url, SENDER: 'off' })
  const a = await build(t, config)
  const b = await build(t, config)
  const stamp = a.formStamps.issue()
  t.equal(await a.formStamps.consume(stamp), true, 'first use, on instance A')
  t.equal(await b.formStamps.consume(stamp), false, 'the replay on instance B is refused')
  t.equal(await b.formStamps.consume(b.formStamps.issue()), true, 'another stamp is fine')
  t.equal((await probe.keys('leadlink-stamp:*')).length, 2, 'used stamps live in Redis')
  const ttl = await probe.pttl((await probe.keys('leadlink-stamp:*'))[0] as string)
  t.ok(ttl > 0 && ttl <= 24 * 60 * 60 * 1000, 'and expire when the stamp would be stale anyway')
})
