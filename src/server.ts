// Process entry. Node's compile cache is turned on before anything else loads: from the second start
// on, the bundle's code is read from the cache instead of compiled again (about 9 % of the start-up
// time here). It lives in the OS temp folder (NODE_COMPILE_CACHE to move it, NODE_DISABLE_COMPILE_CACHE=1
// to turn it off); a folder it cannot write only means no cache.
import { enableCompileCache, flushCompileCache } from 'node:module'

enableCompileCache()
await import('./serve.ts')
// Written at exit too; written now as well so that a process that is killed leaves it behind.
setTimeout(() => flushCompileCache(), 5_000).unref()
