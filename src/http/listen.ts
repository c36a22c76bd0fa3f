// The public port as several SO_REUSEPORT sockets, so that a burst of new connections is accepted at once.
//
// Why: libuv accepts one connection per listening socket per event-loop turn (since 1.45,
// https://github.com/libuv/libuv/pull/3696), and a turn of a busy server lasts 20–80 ms. Fifty
// campaign visitors who connect in the same instant were accepted over a second, one a turn, and
// that wait was each connection's first answer. With N sockets on one port the kernel spreads new
// connections across them (SO_REUSEPORT, Linux ≥ 3.9) and each turn accepts up to N.
// The extra sockets hand their connections to Fastify's own server ('connection' is documented as
// an event users may emit: https://nodejs.org/api/http.html#event-connection), so every request goes
// through the same server, timeouts and hooks.
import net from 'node:net'
import type { FastifyInstance, FastifyListenOptions } from 'fastify'

/** Where Node's `reusePort` exists (https://nodejs.org/api/net.html#serverlistenoptions-callback). */
const REUSE_PORT_PLATFORMS: ReadonlySet<NodeJS.Platform> = new Set(['linux', 'freebsd'])

export interface ListenOptions {
  port: number
  host: string
  /** listening sockets on the port; 1 is one plain socket */
  sockets: number
}

export interface Listening {
  /** the main socket's address, as Fastify's listen() gives it */
  address: string
  /** how many sockets accept connections */
  sockets: number
}

function listenOn (server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function closed (server: net.Server): Promise<void> {
  return new Promise(resolve => server.close(() => resolve()))
}

/**
 * `app.listen()` on PORT with `sockets` sockets. The port is first bound without SO_REUSEPORT, as a
 * check: another process already on it (another leadlink, whose sockets share the port only with
 * processes of the same user) fails with EADDRINUSE as before, instead of silently taking half of
 * the traffic. Closing the app stops every socket and waits for the connections they accepted.
 */
export async function listen (app: FastifyInstance, options: ListenOptions): Promise<Listening> {
  if (options.sockets <= 1 || !REUSE_PORT_PLATFORMS.has(process.platform)) {
    if (options.sockets > 1) app.log.info({ platform: process.platform }, 'one listening socket: SO_REUSEPORT is not available here')
    return { address: await app.listen({ port: options.port, host: options.host }), sockets: 1 }
  }
  const probe = net.createServer()
  await listenOn(probe, { port: options.port, host: options.host, exclusive: true })
  const port = (probe.address() as net.AddressInfo).port
  await closed(probe)

  const extras: net.Server[] = []
  const drained: Promise<void>[] = []
  // preClose runs before Fastify closes its own server; the wait for the extras' connections runs
  // after it (onClose hooks added last run first), before the plugins' onClose hooks stop the sender.
  app.addHook('preClose', async () => {
    for (const extra of extras) drained.push(closed(extra))
  })
  app.addHook('onClose', async () => { await Promise.all(drained) })

  // Fastify passes its options on to net.Server.listen(), reusePort included.
  const main: FastifyListenOptions & { reusePort: boolean } = { port, host: options.host, reusePort: true }
  const address = await app.listen(main)
  const bound = app.server.address() as net.AddressInfo
  try {
    for (let i = 1; i < options.sockets; i++) {
      // The options http.Server gives its own net.Server (allowHalfOpen for HTTP, Nagle off).
      const extra = net.createServer({ allowHalfOpen: true, noDelay: true }, socket => app.server.emit('connection', socket))
      await listenOn(extra, { port: bound.port, host: bound.address, reusePort: true })
      extras.push(extra)
    }
  } catch (err) {
    await app.close()
    throw err
  }
  return { address, sockets: options.sockets }
}
