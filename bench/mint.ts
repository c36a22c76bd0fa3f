// Bench section "mint": µs per download link, in process, leadlink's links against the SDK's getSignedUrl.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { WhitepaperPointer } from '../src/whitepapers/catalog.ts'
import type { BenchContext } from './context.ts'
import { cpuMs, machineBusyMs } from './processes.ts'
import { BENCH_BUCKET, SEED_POINTER } from './stand-ins.ts'
import { fmt, median, NOISY_PCT, range, row, type Log } from './stats.ts'
import { verdict } from './targets.ts'

type DownloadLinksModule = typeof import('../src/whitepapers/download-links.ts')
type DispositionModule = typeof import('../src/whitepapers/content-disposition.ts')

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
async function setUpMinting (leadlinkRoot: string): Promise<MintSetup> {
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

export interface MintBench { runs: MintRun[], sameUrl: boolean, quietRuns: number[], planned: number }

// Each measured run lasts about this long, whatever one link costs.
const MINT_RUN_MS = 500

export async function runMint (ctx: BenchContext): Promise<MintBench> {
  const { log, opts } = ctx
  log(`\n== link minting: in process, a ${MINT_TTL_SECONDS} s link to one whitepaper; ${opts.mintWarmup} warm-up calls each, ` +
    `then ${opts.mintRuns} runs of ~${MINT_RUN_MS} ms each, interleaved`)
  for (const label of Object.values(MINT_VARIANTS)) log(`   ${label}`)
  const setup = await setUpMinting(ctx.servers.leadlinkRoot)
  if (setup.sameUrl) log('  leadlink\'s URL has the parameters and signature of getSignedUrl\'s (signed at the same second)')
  else log(`  !! leadlink's URL differs from getSignedUrl's (same second):\n     SDK      ${setup.sample.sdk}\n     leadlink ${setup.sample.leadlink}`)
  const variants = Object.keys(MINT_VARIANTS) as MintVariant[]
  const iterations: Partial<Record<MintVariant, number>> = {}
  for (const variant of variants) {
    const warm = await setup.time(variant, opts.mintWarmup, -1)
    iterations[variant] = Math.max(1000, Math.round(MINT_RUN_MS * 1000 / warm.usPerLink))
  }
  const runs: MintRun[] = []
  const quietRuns: number[] = []
  for (let run = 0; run < opts.mintRuns; run++) {
    // A different variant first each time, so that none always follows another's garbage.
    const order = variants.map((_, i) => variants[(i + run) % variants.length] as MintVariant)
    const these: Partial<Record<MintVariant, MintRun>> = {}
    for (const variant of order) {
      const r = await setup.time(variant, iterations[variant] ?? opts.mintWarmup, run)
      these[variant] = r
      runs.push(r)
    }
    const us = (v: MintVariant) => these[v]?.usPerLink ?? NaN
    const others = Math.max(...order.map(v => these[v]?.othersPct ?? 0))
    if (others <= NOISY_PCT) quietRuns.push(run)
    log(`  run ${run + 1}  (a) ${fmt(us('getSignedUrl'), 1)} µs  (b) ${fmt(us('mint'), 2)} µs  (c) ${fmt(us('signFresh'), 1)} µs   ` +
      `b/a ${fmt(us('mint') / us('getSignedUrl'), 3)}  c/a ${fmt(us('signFresh') / us('getSignedUrl'), 2)}` +
      (others > NOISY_PCT ? `   (other processes used up to ${fmt(others)}% CPU meanwhile)` : ''))
  }
  return { runs, sameUrl: setup.sameUrl, quietRuns, planned: opts.mintRuns }
}

export function summariseMint (mint: MintBench, log: Log): void {
  log('  link minting, µs per link (in process)')
  const runs = mint.quietRuns.length > 0 ? mint.runs.filter(r => mint.quietRuns.includes(r.run)) : mint.runs
  const all = (variant: MintVariant) => runs.filter(r => r.variant === variant).map(r => r.usPerLink)
  const us = (variant: MintVariant) => median(all(variant))
  const sdk = us('getSignedUrl')
  log(row('(b) mint(), reuse window on', fmt(us('mint'), 2), `getSignedUrl ${fmt(sdk)}`, fmt(us('mint') / sdk, 3), verdict('mintRatio', us('mint') / sdk)))
  log(row('(c) signFresh(), always signs', fmt(us('signFresh'), 1), `getSignedUrl ${fmt(sdk)}`, fmt(us('signFresh') / sdk, 2), '(the cost without the reuse window)'))
  log(`    runs used: (a) ${range(all('getSignedUrl'), 1)} µs, (b) ${range(all('mint'), 2)} µs, (c) ${range(all('signFresh'), 1)} µs`)
  if (!mint.sameUrl) log('  !! leadlink\'s signed URL differs from getSignedUrl\'s: see the link minting section')
  if (mint.quietRuns.length < mint.planned) {
    log(mint.quietRuns.length > 0
      ? `  (other processes competed for the CPUs during some minting runs; the medians use the ${mint.quietRuns.length} of ${mint.planned} quiet ones)`
      : '  (other processes competed for the CPUs during every minting run: rerun on a quiet machine)')
  }
}
