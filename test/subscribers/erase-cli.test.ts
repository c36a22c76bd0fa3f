// `npm run signups -- show <address>` and `erase <address> [--dry-run]` as real processes against the
// S3 emulator: show prints the self-service download's JSON, a dry run changes nothing, erase leaves a
// tombstone, a repeat says there is nothing left, a bad address is refused.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { reconfigure } from '../../src/config.ts'
import { build, startEmulators } from '../helper.ts'
import { childEnv, runNode } from '../process/child.ts'

const ADDRESS = 'cli.person@example.com'

t.test('show, erase --dry-run, erase, show again', async t => {
  const stack = await startEmulators(t)
  const app = await build(t, reconfigure(stack.config, { SENDER: 'off' }), { clientOptions: { credentials: stack.credentials } })
  await app.catalog.publish({ bytes: await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url)), filename: 'Guide.pdf', title: 'CLI Guide' })
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: ADDRESS }, remoteAddress: '192.0.2.44' })
  t.equal(res.statusCode, 202)
  const env = childEnv({
    S3_BUCKET: stack.config.aws.s3.bucket,
    S3_ENDPOINT: stack.config.aws.s3.endpoint ?? '',
    S3_FORCE_PATH_STYLE: 'true',
    ADDRESS_KEY: stack.config.privacy.addressKey ?? '',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1'
  })
  const key = app.subscribers.keyOf(ADDRESS)

  const show = await runNode(t, ['scripts/signups.ts', 'show', ' CLI.Person@Example.com '], env)
  t.equal(show.code, 0, show.stderr)
  const data = JSON.parse(show.stdout)
  t.match(data, { address: ADDRESS, recordKey: key, record: { status: 'pending', signups: [{ ip: '192.0.2.44' }] }, suppression: null })
  t.equal(data.queuedEmails.length, 1, 'the email still queued, with the address it goes to')
  t.equal(data.queuedEmails[0].address, ADDRESS)
  t.same(data, await app.rights.show({ address: ADDRESS }).then(d => ({ ...d, generatedAt: data.generatedAt })), 'the same JSON as the self-service download')

  const dry = await runNode(t, ['scripts/signups.ts', 'erase', ADDRESS, '--dry-run'], env)
  t.equal(dry.code, 0, dry.stderr)
  t.match(dry.stderr, 'would erase: the record (pending, 1 form submission(s), 1 email(s)), 1 queued email(s), 0 delivery-log line(s)')
  t.equal((await app.subscribers.get(key))?.record.address, ADDRESS, 'a dry run changes nothing')

  const erase = await runNode(t, ['scripts/signups.ts', 'erase', ADDRESS], env)
  t.equal(erase.code, 0, erase.stderr)
  t.match(erase.stderr, 'erased: the record, 1 queued email(s), 0 delivery-log line(s); a tombstone (unsubscribed) holds no address')
  t.match((await app.subscribers.get(key))?.record, { address: '', status: 'unsubscribed', erasedAt: String })

  const again = await runNode(t, ['scripts/signups.ts', 'erase', ADDRESS], env)
  t.equal(again.code, 0)
  t.match(again.stderr, 'nothing held about this address (already erased: tombstone unsubscribed)')
  const gone = await runNode(t, ['scripts/signups.ts', 'show', ADDRESS], env)
  t.equal(gone.code, 0)
  t.same(JSON.parse(gone.stdout), { address: ADDRESS, held: null })

  const bad = await runNode(t, ['scripts/signups.ts', 'erase', 'not-an-address'], env)
  t.equal(bad.code, 2)
  t.match(bad.stderr, 'not an address')
  const none = await runNode(t, ['scripts/signups.ts', 'show'], env)
  t.equal(none.code, 2)
  t.match(none.stderr, 'show takes one address')
})
