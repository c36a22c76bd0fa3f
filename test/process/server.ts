// The production server as a child process pointed at emulators that live in the parent (so that what
// was sent survives the child's death): the sample published, the child's environment, its start, a signup.
import { readFile } from 'node:fs/promises'
import { S3Client } from '@aws-sdk/client-s3'
import { createCatalog } from '../../src/whitepapers/catalog.ts'
import type { Emulators, Teardown } from '../helper.ts'
import { childEnv, serverEntry, spawnNode, waitForOutput, type NodeProcess } from './child.ts'

const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))

/** The record-key HMAC key every server gets (tests that write records themselves use the same). */
export const SERVER_ADDRESS_KEY = 'process-test-address-key-0123456789abcdef012'

/** A client of the emulated bucket, with the sample published as "Guide.pdf" for the servers to offer. */
export async function publishSample (t: Teardown, stack: Emulators): Promise<S3Client> {
  const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: stack.credentials })
  t.teardown(() => s3.destroy())
  await createCatalog({ s3, bucket: stack.config.aws.s3.bucket, refreshMs: 0 }).publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })
  return s3
}

/** Production settings for a server on `port` against the emulators (SES_ENDPOINT may be overridden, e.g. a throttling proxy). */
export function serverEnv (stack: Emulators, port: number, overrides: Record<string, string> = {}): Record<string, string> {
  return childEnv({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    S3_BUCKET: stack.config.aws.s3.bucket,
    S3_ENDPOINT: stack.config.aws.s3.endpoint ?? '',
    S3_FORCE_PATH_STYLE: 'true',
    SES_ENDPOINT: stack.sesUrl,
    SES_FROM: 'Leadlink <hello@leadlink.test>',
    TOKEN_SECRET: 'process-test-secret-0123456789abcdef0123456789',
    ADDRESS_KEY: SERVER_ADDRESS_KEY,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    RATE_LIMIT_PER_IP_PER_MINUTE: '0',
    BOT_MIN_FILL_SECONDS: '0',
    // The tests read what the server did from its log lines.
    LOG_LEVEL: 'info',
    ...overrides
  })
}

/** Starts the build's server with `env`; resolves once it listens, with its base URL. */
export async function startServer (t: Teardown, env: Record<string, string>, timeoutMs = 20_000): Promise<{ proc: NodeProcess, base: string }> {
  const proc = spawnNode(t, [serverEntry()], env)
  const match = await waitForOutput(proc, /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/, timeoutMs)
  return { proc, base: match[1] as string }
}

/** Posts the form for `address`: the status, or 0 when the server could not be reached (it was killed). */
export async function postSignup (base: string, address: string): Promise<number> {
  try {
    const res = await fetch(`${base}/subscribe`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `email=${encodeURIComponent(address)}`
    })
    await res.arrayBuffer()
    return res.status
  } catch {
    return 0
  }
}
