// `npm start`: the bundle when `npm run build` made one, else the sources (a production install has
// no build tools, and Node 24 runs the TypeScript as it is).
import { existsSync } from 'node:fs'

const bundle = new URL('../dist/node/server.mjs', import.meta.url)
await import(existsSync(bundle) ? bundle.href : new URL('../src/server.ts', import.meta.url).href)
