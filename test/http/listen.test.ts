// The public port's listening sockets: a burst of new connections is accepted several per event-loop
// turn (one plain socket accepts one a turn), every connection reaches Fastify's server, a port in use
// is still refused, and closing stops every socket and lets accepted requests finish first.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { listen } from '../../src/http/listen.ts'

async function app (t: Test): Promise<FastifyInstance> {
  // As src/server.ts builds it: idle keep-alive sockets must not hold close() for keepAliveTimeout.
  const a = Fastify({ keepAliveTimeout: 72_000, forceCloseConnections: 'idle' })
  a.get('/', async () => ({ ok: true }))
  a.get('/slow', async () => { await sleep(300); return { slow: true } })
  t.teardown(() => a.close())
  return a
}

const portOf = (a: FastifyInstance) => (a.server.address() as net.AddressInfo).port

/** Sockets in LISTEN state on 127.0.0.1:port, from the kernel's own table. */
function listeningSockets (port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').filter(line => {
    const cols = line.trim().split(/\s+/)
    return cols[1] === local && cols[3] === '0A'
  }).length
}

/**
 * Opens `count` connections at once while the event loop is kept busy (each turn spins 5 ms, like a
 * server answering other requests), and returns how many the server accepted in its busiest turn.
 */
async function mostAcceptedInOneTurn (a: FastifyInstance, count: number): Promise<number> {
  let turn = 0
  let busy = true
  const spin = () => {
    if (!busy) return
    turn++
    const until = performance.now() + 5
    while (performance.now() < until) { /* a busy turn */ }
    setImmediate(spin)
  }
  const perTurn = new Map<number, number>()
  const onConnection = () => perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1)
  a.server.on('connection', onConnection)
  // The kernel completes each handshake by itself: all of them wait in the accept queues at once.
  const clients = Array.from({ length: count }, () => net.connect(portOf(a), '127.0.0.1'))
  setImmediate(spin)
  while ([...perTurn.values()].reduce((sum, n) => sum + n, 0) < count) await new Promise(resolve => setImmediate(resolve))
  busy = false
  a.server.off('connection', onConnection)
  for (const c of clients) c.destroy()
  return Math.max(...perTurn.values())
}

t.test('16 sockets on the port: a burst is accepted many a turn; one socket takes one a turn', { skip: process.platform !== 'linux' && 'SO_REUSEPORT and /proc/net/tcp are Linux' }, async t => {
  const spread = await app(t)
  const listening = await listen(spread, { port: 0, host: '127.0.0.1', sockets: 16 })
  t.equal(listening.sockets, 16)
  t.equal(listeningSockets(portOf(spread)), 16, 'the kernel lists 16 listening sockets on the port')
  t.ok(await mostAcceptedInOneTurn(spread, 48) > 1, 'several connections accepted in one turn')

  const single = await app(t)
  await listen(single, { port: 0, host: '127.0.0.1', sockets: 1 })
  t.equal(listeningSockets(portOf(single)), 1)
  t.equal(await mostAcceptedInOneTurn(single, 48), 1, 'libuv accepts one connection per socket per turn (why the extra sockets exist)')
})

t.test('every socket serves the same app: connections the extra sockets accepted are answered by Fastify', async t => {
  const a = await app(t)
  let connections = 0
  a.server.on('connection', () => connections++)
  await listen(a, { port: 0, host: '127.0.0.1', sockets: 8 })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  t.teardown(() => agent.destroy())
  const answers = await Promise.all(Array.from({ length: 64 }, () => new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: portOf(a), path: '/', agent }, res => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) }).on('error', reject)
  })))
  t.same([...new Set(answers)], [200])
  t.equal(connections, 64, 'Fastify\'s server saw all 64 connections')
  // getConnections() counts what a net.Server accepted itself: the rest came through the others.
  const ownAccepts = await new Promise<number>((resolve, reject) => a.server.getConnections((err, n) => err ? reject(err) : resolve(n)))
  t.ok(ownAccepts < 64, `${64 - ownAccepts} of the 64 open connections were accepted by the extra sockets`)
})

t.test('a port already in use is refused with EADDRINUSE, by another program or by another leadlink', async t => {
  const other = net.createServer()
  await new Promise<void>(resolve => other.listen(0, '127.0.0.1', resolve))
  t.teardown(() => other.close())
  const port = (other.address() as net.AddressInfo).port
  await t.rejects(listen(await app(t), { port, host: '127.0.0.1', sockets: 16 }), { code: 'EADDRINUSE' })

  const first = await app(t)
  await listen(first, { port: 0, host: '127.0.0.1', sockets: 16 })
  // The first one's sockets all share the port (SO_REUSEPORT): without the check a second process
  // of the same user would join them and take part of the traffic.
  await t.rejects(listen(await app(t), { port: portOf(first), host: '127.0.0.1', sockets: 16 }), { code: 'EADDRINUSE' })
})

t.test('close(): a request in flight on an extra socket finishes before the onClose hooks; then nothing accepts', async t => {
  const a = await app(t)
  const events: string[] = []
  // Registered before listening, like the plugins' hooks that stop the sender and flush counts.
  a.addHook('onClose', async () => { events.push('plugins closed') })
  a.addHook('onResponse', async request => { if (request.url === '/slow') events.push('answered') })
  await listen(a, { port: 0, host: '127.0.0.1', sockets: 16 })
  const port = portOf(a)
  const idle = new http.Agent({ keepAlive: true })
  t.teardown(() => idle.destroy())
  // Keep-alive connections left idle: they must not hold close() for the 72 s keep-alive timeout.
  await Promise.all(Array.from({ length: 16 }, () => new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: idle }, res => { res.resume(); res.on('end', resolve) }).on('error', reject)
  })))
  // Slow requests on new connections, some of them on the extra sockets.
  const slow = Array.from({ length: 16 }, () => fetch(`http://127.0.0.1:${port}/slow`, { headers: { connection: 'close' } })
    .then(async res => await res.json()))
  await sleep(100)
  await a.close()
  events.push('closed')
  t.same(await Promise.all(slow), Array(16).fill({ slow: true }))
  t.same(events.slice(0, 16), Array(16).fill('answered'), 'every request in flight was answered before the plugins closed')
  t.same(events.slice(16), ['plugins closed', 'closed'])
  t.equal(listeningSockets(port), 0, 'no socket listens any more')
  await t.rejects(fetch(`http://127.0.0.1:${port}/`), 'a new connection is refused')
})
