// Local mode: S3 (s3rver) and SES (aws-ses-v2-local) emulators in this process, a bucket, a sample
// whitepaper. Imported only when there is no S3_BUCKET outside production.
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { resolve } from 'node:path'
import type { AwsCredentialIdentity } from '@aws-sdk/types'
import { reconfigure, type Config } from '../config.ts'
import { makeS3rverRealistic } from './s3rver-realism.ts'

export const LOCAL_CREDENTIALS: AwsCredentialIdentity = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
export const SAMPLE_PDF = new URL('../../scripts/sample-whitepaper.pdf', import.meta.url)

// The /admin page uploads from the browser straight to the bucket (a presigned POST): the emulator
// must answer CORS for pages served from this machine. Real buckets need their own rule (README).
const LOCAL_CORS = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>http://localhost:*</AllowedOrigin>
    <AllowedOrigin>http://127.0.0.1:*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`

const LOCAL_SES_ACCOUNT = {
  DedicatedIpAutoWarmupEnabled: false,
  Details: { AdditionalContactEmailAddresses: [], ContactLanguage: 'EN', MailType: 'MARKETING', ReviewDetails: { CaseId: 'local', Status: 'GRANTED' }, UseCaseDescription: 'local', WebsiteURL: 'http://localhost' },
  EnforcementStatus: 'HEALTHY',
  ProductionAccessEnabled: true,
  SendingEnabled: true,
  SendQuota: { Max24HourSend: 50000, MaxSendRate: 14, SentLast24Hours: 0 },
  SuppressionAttributes: { SuppressedReasons: [] }
}

export interface LocalStack {
  /** the config with S3 and SES pointed at the emulators */
  config: Config
  credentials: AwsCredentialIdentity
  inboxUrl: string
  close: () => Promise<void>
}

function listening (server: Server): number {
  return (server.address() as AddressInfo).port
}

/** s3rver reports a busy port as an unhandled 'error' event: check first, and say which setting. */
async function assertPortFree (port: number, setting: string): Promise<void> {
  if (port === 0) return
  const { createServer } = await import('node:net')
  await new Promise<void>((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (err: NodeJS.ErrnoException) => {
      reject(Object.assign(new Error(`${setting} ${port} is in use`), { code: err.code, port }))
    })
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()))
  })
}

export async function startLocalStack (config: Config): Promise<LocalStack> {
  const { local } = config
  await assertPortFree(local.s3Port, 'LOCAL_S3_PORT')
  await assertPortFree(local.sesPort, 'LOCAL_SES_PORT')
  const dataDir = resolve(local.dataDir, 's3')
  await mkdir(dataDir, { recursive: true })
  const { default: S3rver } = await import('s3rver')
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: local.s3Port,
    directory: dataDir,
    silent: true,
    configureBuckets: [{ name: config.aws.s3.bucket, configs: [LOCAL_CORS] }]
  })
  makeS3rverRealistic(s3 as never)
  const s3Address = await s3.run()
  // The emulator answers GetAccount from this variable: report a new SES account's 14 emails/s.
  process.env.AWS_SES_ACCOUNT ??= JSON.stringify(LOCAL_SES_ACCOUNT)
  // A CommonJS module: under Node's ESM interop its server is `default` of the exports object.
  const sesModule = await import('aws-ses-v2-local') as unknown as { default: { default: typeof import('aws-ses-v2-local').default } }
  const startSes = sesModule.default.default
  let ses: Server
  try {
    ses = await startSes({ host: '127.0.0.1', port: local.sesPort }) as Server
  } catch (err) {
    await s3.close()
    throw err
  }
  const sesPort = listening(ses)
  const sesUrl = `http://localhost:${sesPort}`
  return {
    config: reconfigure(config, {
      ...emulatorEndpoints(s3Address.port, sesPort),
      ...await localSecrets(config)
    }),
    credentials: LOCAL_CREDENTIALS,
    inboxUrl: `${sesUrl}/`,
    async close () {
      await new Promise<void>(resolve => ses.close(() => resolve()))
      await s3.close()
    }
  }
}

/** The settings that point the AWS clients at the emulators (path-style: s3rver has no bucket subdomains). */
export function emulatorEndpoints (s3Port: number, sesPort: number) {
  return { S3_ENDPOINT: `http://localhost:${s3Port}`, S3_FORCE_PATH_STYLE: 'true', SES_ENDPOINT: `http://localhost:${sesPort}` }
}

/** The secrets local mode keeps in its data folder, for those not set (a command beside `npm start` needs the same). */
export async function localSecrets (config: Config): Promise<Record<string, string>> {
  return {
    ...(config.links.tokenSecrets.length > 0 ? {} : { TOKEN_SECRET: await localSecret(config.local.dataDir, 'token-secret') }),
    ...(config.privacy.addressKey !== undefined ? {} : { ADDRESS_KEY: await localSecret(config.local.dataDir, 'address-key') })
  }
}

/** A secret kept in the data folder, so local links and record keys stay the same across restarts. */
async function localSecret (dataDir: string, name: 'token-secret' | 'address-key'): Promise<string> {
  const path = resolve(dataDir, name)
  try {
    const existing = (await readFile(path, 'utf8')).trim()
    if (existing.length >= 32) return existing
  } catch {}
  const secret = randomBytes(32).toString('base64url')
  await writeFile(path, secret, { mode: 0o600 })
  return secret
}

export async function samplePdfBytes (): Promise<Buffer> {
  return await readFile(SAMPLE_PDF)
}
