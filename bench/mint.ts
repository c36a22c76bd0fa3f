// Link minting micro-benchmark, in process: leadlink's download links against the SDK's getSignedUrl.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { WhitepaperPointer } from '../../src/whitepapers/catalog.ts'
import { cpuMs, machineBusyMs } from './processes.ts'
import { BENCH_BUCKET, SEED_POINTER } from './stand-ins.ts'

type DownloadLinksModule = typeof import('../../src/whitepapers/download-links.ts')
type DispositionModule = typeof import('../../src/whitepapers/content-disposition.ts')

// The SigV4 maximum, and LINK_TTL_SECONDS's default.
export const MINT_TTL_SECONDS = 604800

/** A current whitepaper as the catalog hands it over; a real name, so the RFC 5987 form is in every link. */
const POINTER: WhitepaperPointer = {
  ...SEED_POINTER,
  key: 'whitepapers/default/versions/v1/State of Lead Generation – 2026.pdf',
  filename: 'State of Lead Generation – 2026.pdf'
}

export type MintVariant = 'getSignedUrl' | 'mint' | 'signFresh'

export const MINT_VARIANTS: Record<MintVariant, string> = {
  getSignedUrl: '(a) getSignedUrl(s3, new GetObjectCommand(…))',
  mint: '(b) links.mint(): reuse window on',
  signFresh: '(c) links.signFresh(): every call signs'
}

export interface MintRun {
  run: number
  variant: MintVariant
  iterations: number
  usPerLink: number
  /** CPU other processes used meanwhile, in % of one CPU */
  othersPct: number
}

export interface MintSetup {
  /** the SDK's URL and leadlink's, signed at the same second, carry the same parameters and signature */
  sameUrl: boolean
  sample: { sdk: string, leadlink: string }
  time: (variant: MintVariant, iterations: number, run: number) => Promise<MintRun>
}

/**
 * Loads download-links.ts from the measured checkout (--leadlink) and builds what the service builds:
 * an S3Client as src/aws/clients.ts makes it (static credentials here, so no provider chain to
 * resolve) and a link minter on it.
 */
export async function setUpMinting (leadlinkRoot: string): Promise<MintSetup> {
  const load = <T>(path: string) => import(pathToFileURL(join(leadlinkRoot, path)).href) as Promise<T>
  const { createDownloadLinks } = await load<DownloadLinksModule>('src/whitepapers/download-links.ts')
  const { attachmentDisposition } = await load<DispositionModule>('src/whitepapers/content-disposition.ts')
  const s3 = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDBENCHBENCHBENCH0', secretAccessKey: 'bench-secret-bench-secret-bench-secret-00' },
    maxAttempts: 3,
    forcePathStyle: false,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
  const links = createDownloadLinks({ s3, bucket: BENCH_BUCKET })
  const disposition = attachmentDisposition(POINTER.filename)

  const once: Record<MintVariant, () => Promise<unknown>> = {
    getSignedUrl: () => getSignedUrl(s3, new GetObjectCommand({
      Bucket: BENCH_BUCKET,
      Key: POINTER.key,
      ResponseContentDisposition: disposition,
      ResponseContentType: 'application/pdf'
    }), { expiresIn: MINT_TTL_SECONDS }),
    mint: () => links.mint(POINTER, MINT_TTL_SECONDS),
    signFresh: () => links.signFresh(POINTER, MINT_TTL_SECONDS, new Date())
  }

  // Compared as parameter sets: the two put the same parameters in different orders.
  const signedAt = new Date(Math.floor(Date.now() / 1000) * 1000)
  const sdk = await getSignedUrl(s3, new GetObjectCommand({
    Bucket: BENCH_BUCKET, Key: POINTER.key, ResponseContentDisposition: disposition, ResponseContentType: 'application/pdf'
  }), { expiresIn: MINT_TTL_SECONDS, signingDate: signedAt })
  const leadlink = await links.signFresh(POINTER, MINT_TTL_SECONDS, signedAt)
  const shape = (url: string) => {
    const u = new URL(url)
    return `${u.origin}${u.pathname}?${[...u.searchParams].map(([k, v]) => `${k}=${v}`).sort().join('&')}`
  }

  return {
    sameUrl: shape(sdk) === shape(leadlink),
    sample: { sdk, leadlink },
    async time (variant, iterations, run) {
      const fn = once[variant]
      const t0 = { wall: performance.now(), machine: machineBusyMs(), own: cpuMs('self') }
      for (let i = 0; i < iterations; i++) await fn()
      const wall = performance.now() - t0.wall
      const others = Math.max(0, (machineBusyMs() - t0.machine) - (cpuMs('self') - t0.own)) / wall * 100
      return { run, variant, iterations, usPerLink: wall * 1000 / iterations, othersPct: others }
    }
  }
}
