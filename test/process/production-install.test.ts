// A production install (`npm install --omit=dev`): local mode says in one line what it needs, and with
// S3_BUCKET the server runs. The devDependencies are made unfindable with a resolve hook.
import t from 'tap'
import { childEnv, freePorts, runNode, serverEntry, spawnNode, waitForOutput } from './child.ts'
import { eventually } from '../helper.ts'

const WITHOUT_DEV = new URL('./fixtures/without-dev-deps.mjs', import.meta.url).pathname
const ENTRIES = [['the bundle', serverEntry()], ['the sources', 'src/server.ts']] as const

for (const [name, entry] of ENTRIES) {
  t.test(`${name}: without S3_BUCKET, one line says local mode needs the dev dependencies`, async t => {
    const [port] = await freePorts(1)
    const run = await runNode(t, ['--import', WITHOUT_DEV, entry], childEnv({ NODE_ENV: 'development', PORT: String(port) }))
    t.equal(run.code, 1)
    t.equal(run.stderr, 'leadlink: local mode needs the dev dependencies (run `npm install` without --omit=dev), or set S3_BUCKET (and SES_FROM, TOKEN_SECRET, ADDRESS_KEY) to use a real bucket.\n')
    t.notMatch(run.stderr, /ERR_MODULE_NOT_FOUND|\n\s+at /, 'no stack trace')
  })

  t.test(`${name}: with S3_BUCKET it runs`, async t => {
    const [port, closed] = await freePorts(2)
    const proc = spawnNode(t, ['--import', WITHOUT_DEV, entry], childEnv({
      NODE_ENV: 'development',
      PORT: String(port),
      S3_BUCKET: 'leadlink-prod-install',
      S3_ENDPOINT: `http://127.0.0.1:${closed}`,
      SES_ENDPOINT: `http://127.0.0.1:${closed}`,
      SES_FROM: 'hello@example.com',
      TOKEN_SECRET: 'production-install-secret-0123456789abcdef',
      ADDRESS_KEY: 'production-install-address-key-0123456789ab',
      SENDER: 'off'
    }))
    await waitForOutput(proc, /Server listening/)
    const health = await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`)
      return res.status === 200 ? res : undefined
    })
    t.equal(health.status, 200)
    t.equal((await proc.stop()).code, 0, 'and stops cleanly')
  })
}
