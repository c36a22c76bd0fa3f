// Node's compile cache, as the build's server turns it on (src/server.ts): the first start writes it,
// the next one reads the bundle's code from it (Node's own debug lines say so), a killed server has
// written it too, NODE_DISABLE_COMPILE_CACHE=1 turns it off, and a folder it cannot write stops nothing.
import t from 'tap'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { startEmulators, tempDir } from '../helper.ts'
import { freePorts } from './child.ts'
import { publishSample, serverEnv, startServer } from './server.ts'

const stack = await startEmulators(t)
await publishSample(t, stack)

/** Every cache file Node wrote under `dir` (one folder per Node version). */
async function cacheFiles (dir: string): Promise<string[]> {
  const versions = await readdir(dir).catch(() => [])
  const files = await Promise.all(versions.map(async v => (await readdir(join(dir, v))).filter(f => !f.includes('.'))))
  return files.flat()
}

/** The bundle's modules Node took cached code for, or wrote it for, from its NODE_DEBUG_NATIVE=COMPILE_CACHE lines. */
function bundleModules (stderr: string, what: 'accepted' | 'written'): string[] {
  const pattern = what === 'accepted'
    ? /V8 code cache for ESM file:\/\/\S+\/dist\/node\/(\S+\.mjs) was accepted/g
    : /writing cache for ESM file:\/\/\S+\/dist\/node\/(\S+\.mjs) to temporary file \S+ \[[^\]]*\]\.\.\.success/g
  return [...new Set([...stderr.matchAll(pattern)].map(m => m[1] as string))].sort()
}

t.test('the first start writes the cache, the second reads the bundle from it', async t => {
  const dir = await tempDir(t, 'leadlink-compile-cache-')
  const [port1, port2] = await freePorts(2)
  const debug = { NODE_COMPILE_CACHE: dir, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' }
  const first = await startServer(t, serverEnv(stack, port1 ?? 0, debug))
  t.same(bundleModules(first.proc.stderr(), 'accepted'), [], 'nothing to read on the first start')
  t.equal((await first.proc.stop()).code, 0)
  const written = bundleModules(first.proc.stderr(), 'written')
  t.ok(written.includes('server.mjs') && written.length >= 5, `the bundle's modules are cached (${written.length})`)
  t.ok((await cacheFiles(dir)).length >= written.length, 'in the folder given')

  const second = await startServer(t, serverEnv(stack, port2 ?? 0, debug))
  const accepted = bundleModules(second.proc.stderr(), 'accepted')
  t.ok(accepted.some(m => m.startsWith('serve-')), 'the server module was read from the cache')
  t.same(written.filter(m => !accepted.includes(m)), [], 'and every other module the first start wrote')
  const health = await fetch(`${second.base}/healthz`)
  t.equal(health.status, 200)
  await second.proc.stop()
})

t.test('a server killed after its start has written the cache', async t => {
  const dir = await tempDir(t, 'leadlink-compile-cache-')
  const [port] = await freePorts(1)
  const { proc } = await startServer(t, serverEnv(stack, port ?? 0, { NODE_COMPILE_CACHE: dir }))
  // The flush runs 5 s after the start.
  await new Promise(resolve => setTimeout(resolve, 6_000))
  t.equal((await proc.stop('SIGKILL')).signal, 'SIGKILL')
  t.ok((await cacheFiles(dir)).length >= 5)
})

t.test('NODE_DISABLE_COMPILE_CACHE=1 writes nothing; an unwritable folder stops nothing', async t => {
  const dir = await tempDir(t, 'leadlink-compile-cache-')
  const [port1, port2] = await freePorts(2)
  const off = await startServer(t, serverEnv(stack, port1 ?? 0, { NODE_COMPILE_CACHE: dir, NODE_DISABLE_COMPILE_CACHE: '1' }))
  t.equal((await off.proc.stop()).code, 0)
  t.same(await cacheFiles(dir), [])

  // A path under a file: no folder can be made there.
  const unwritable = await startServer(t, serverEnv(stack, port2 ?? 0, { NODE_COMPILE_CACHE: '/dev/null/leadlink-cache' }))
  t.equal((await fetch(`${unwritable.base}/healthz`)).status, 200)
  t.equal((await unwritable.proc.stop()).code, 0)
})
