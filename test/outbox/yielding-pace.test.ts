// While visitors' requests pile up, the sender yields: each send waits three more of its intervals (a
// quarter of the pace), never stops, and is back to full pace when the requests are answered. The
// count of requests in flight follows requests that finish, fail and are cut off.
import { setTimeout as sleep } from 'node:timers/promises'
import http from 'node:http'
import t from 'tap'
import Fastify from 'fastify'
import { countRequestsInFlight } from '../../src/http/plugins/outbox.ts'
import type { SendPacing } from '../../src/outbox/ports.ts'
import { yieldingPace } from '../../src/outbox/yielding-pace.ts'

function pace (rate: number): SendPacing & { taken: number, throttles: number } {
  return { rate, taken: 0, throttles: 0, async take () { this.taken++ }, throttled () { this.throttles++ } }
}

t.test('busy: each send also waits three of its intervals; idle or off: no wait', async t => {
  const waits: number[] = []
  let inFlight = 0
  const inner = pace(20)
  const yielding = yieldingPace(inner, { inFlight: () => inFlight, threshold: 16, wait: async ms => { waits.push(ms) } })
  await yielding.take()
  inFlight = 15
  await yielding.take()
  t.same(waits, [], 'under the threshold: the pace as it is')
  inFlight = 16
  await yielding.take()
  await yielding.take()
  t.same(waits, [150, 150], '20/s: 50 ms a send, 150 ms more while busy (a quarter of the pace)')
  inFlight = 3
  await yielding.take()
  t.equal(waits.length, 2, 'back to the full pace once the requests are answered')
  t.equal(inner.taken, 5, 'every send still takes its token')
  yielding.throttled()
  t.equal(inner.throttles, 1, 'throttling reaches the pace underneath')
  t.equal(yielding.rate, 20)

  const off = yieldingPace(pace(20), { inFlight: () => 1000, threshold: 0, wait: async ms => { waits.push(ms) } })
  await off.take()
  t.equal(waits.length, 2, 'threshold 0: never yields')
})

t.test('a send waiting while busy is given up when the sender winds down', async t => {
  const yielding = yieldingPace(pace(1), { inFlight: () => 100, threshold: 16 })
  const abort = new AbortController()
  const taking = yielding.take(abort.signal)
  abort.abort()
  await t.rejects(taking, { name: 'AbortError' })
})

t.test('requests in flight: counted while answered, whether they finish, fail or are cut off', async t => {
  const app = Fastify()
  const inFlight = countRequestsInFlight(app)
  let release!: () => void
  const held = new Promise<void>(resolve => { release = resolve })
  app.get('/slow', async () => { await held; return 'ok' })
  app.get('/fail', async () => { await held; throw new Error('boom') })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  const answers = [fetch(`http://127.0.0.1:${port}/slow`), fetch(`http://127.0.0.1:${port}/slow`), fetch(`http://127.0.0.1:${port}/fail`)]
  const cut = http.get({ host: '127.0.0.1', port, path: '/slow' })
  cut.on('error', () => {})
  while (inFlight() < 4) await sleep(5)
  t.equal(inFlight(), 4)
  cut.destroy()
  while (inFlight() > 3) await sleep(5)
  t.equal(inFlight(), 3, 'a request cut off by its client is no longer counted')
  release()
  t.same((await Promise.all(answers)).map(r => r.status), [200, 200, 500])
  while (inFlight() > 0) await sleep(5)
  t.equal(inFlight(), 0)
})
