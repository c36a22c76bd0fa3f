// `npm run whitepaper -- <command>`: publish, list, activate (roll back) and inspect whitepapers with
// the server's own catalog code.
import type { Stats } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { Presets, SingleBar } from 'cli-progress'
import { createAwsClients } from '../aws/clients.ts'
import { loadCliConfig, readCommandLine } from '../cli-common.ts'
import { DomainError } from '../errors.ts'
import { connectRuntime } from '../runtime.ts'
import { createCatalog, found, type Catalog } from './catalog.ts'
import { DEFAULT_SLUG } from './keys.ts'
import type { VersionInfo } from './model.ts'
import { pdfFromFile } from './pdf.ts'
import { formatBytes } from '../delivery/confirmation-email.ts'

export interface CliIo {
  out: (line: string) => void
  err: (line: string) => void
  /** where the upload progress bar is drawn; only a terminal (isTTY) gets one */
  progress?: NodeJS.WritableStream & { isTTY?: boolean }
}

export const USAGE = `usage:
  npm run whitepaper -- publish <file.pdf> [--slug default] [--title "…"] [--description "…"]
  npm run whitepaper -- list [--slug <slug>]
  npm run whitepaper -- activate <version> [--slug default]
  npm run whitepaper -- show [--slug default] [--version <version>]`

const COMMANDS = new Set(['publish', 'list', 'activate', 'show'])

function parseCliArgs (argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      slug: { type: 'string' },
      title: { type: 'string' },
      description: { type: 'string' },
      version: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
}

/** Titles come from people: keep terminal control characters out of the output. */
function printable (value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
}

function progressBar (io: CliIo, label: string) {
  const stream = io.progress
  if (!stream?.isTTY) return undefined
  const bar = new SingleBar({
    stream,
    format: `${label} |{bar}| {percentage}% | {done} of {size}`,
    hideCursor: true,
    clearOnComplete: false,
    fps: 10
  }, Presets.shades_classic)
  let started = false
  return {
    update (loaded: number, total: number) {
      const values = { done: formatBytes(loaded), size: formatBytes(total) }
      if (!started) {
        bar.start(total, loaded, values)
        started = true
      } else {
        bar.update(loaded, values)
      }
    },
    stop () {
      if (started) bar.stop()
    }
  }
}

function describeVersion (v: VersionInfo): string {
  const mark = v.current ? '*' : ' '
  if (!v.meta) return `  ${mark} ${v.version}  unverified upload (never passed the PDF check; cannot be activated)`
  const m = v.meta
  const created = m.createdAt.slice(0, 16).replace('T', ' ')
  return `  ${mark} ${v.version}  ${created} UTC  ${formatBytes(m.size).padStart(9)}  "${printable(m.title)}"  ${printable(m.filename)}`
}

async function list (catalog: Catalog, slug: string | undefined, io: CliIo): Promise<number> {
  const slugs = slug ? [slug] : await catalog.slugs()
  if (slugs.length === 0) {
    io.out('no whitepapers yet: npm run whitepaper -- publish <file.pdf>')
    return 0
  }
  for (const s of slugs) {
    const versions = await catalog.versions(s)
    if (versions.length === 0) {
      io.err(`there is no whitepaper "${s}" [whitepaper_not_found]`)
      return 1
    }
    const current = versions.find(v => v.current)
    io.out(`${s}  ${current ? `current: ${current.version}` : 'no version active'}  (${versions.length} version${versions.length === 1 ? '' : 's'}; * = current)`)
    for (const v of versions) io.out(describeVersion(v))
  }
  return 0
}

export async function runWhitepaperCli (argv: string[], env: Record<string, string | undefined>, io: CliIo): Promise<number> {
  const line = readCommandLine(argv, parseCliArgs, USAGE, io)
  if (typeof line === 'number') return line
  const { parsed, command, rest } = line
  if (!COMMANDS.has(command)) {
    io.err(`unknown command "${command}"\n${USAGE}`)
    return 2
  }
  const wants = command === 'publish' || command === 'activate' ? 1 : 0
  if (rest.length !== wants) {
    io.err(`${command} takes ${wants === 0 ? 'no arguments' : command === 'publish' ? 'exactly one file' : 'exactly one version'}\n${USAGE}`)
    return 2
  }

  const config = loadCliConfig(env, io)
  if (typeof config === 'number') return config

  // Refuse what is plainly wrong before connecting to anything.
  let file: { path: string, info: Stats } | undefined
  if (command === 'publish') {
    const path = rest[0] as string
    let info: Stats
    try {
      info = await stat(path)
    } catch {
      io.err(`cannot read ${path}: no such file`)
      return 1
    }
    if (!info.isFile()) {
      io.err(`${path} is not a file`)
      return 1
    }
    if (info.size > config.admin.uploadMaxBytes) {
      io.err(`${path} is ${formatBytes(info.size)}; the limit is ${formatBytes(config.admin.uploadMaxBytes)} (ADMIN_UPLOAD_MAX_BYTES) [file_too_large]`)
      return 1
    }
    file = { path, info }
  }

  const runtime = await connectRuntime(config)
  const aws = createAwsClients(runtime.config, runtime.clientOptions)
  let bar: ReturnType<typeof progressBar>
  try {
    const catalog = createCatalog({ s3: aws.s3, bucket: runtime.config.aws.s3.bucket, refreshMs: 0 })
    const slug = parsed.values.slug ?? DEFAULT_SLUG
    if (command === 'list') return await list(catalog, parsed.values.slug, io)
    if (command === 'show') {
      if (parsed.values.version) {
        io.out(JSON.stringify(await catalog.version(slug, parsed.values.version), null, 2))
        return 0
      }
      const pointer = found(await catalog.read(slug))
      io.out(JSON.stringify(pointer, null, 2))
      return 0
    }
    if (command === 'activate') {
      const version = rest[0] as string
      const before = await catalog.read(slug)
      const pointer = await catalog.activate(slug, version)
      if (before?.version === pointer.version) {
        io.out(`${slug} version ${pointer.version} ("${printable(pointer.title)}") was already current; nothing changed`)
      } else {
        io.out(`activated ${slug} version ${pointer.version} ("${printable(pointer.title)}", ${printable(pointer.filename)}, ${formatBytes(pointer.size)})${before ? `; it replaces ${before.version}` : ''}. Running instances switch within CATALOG_REFRESH_SECONDS (${config.catalog.refreshMs / 1000} s)`)
      }
      return 0
    }
    const { path, info } = file as { path: string, info: Stats }
    const source = await pdfFromFile(path, info.size)
    bar = progressBar(io, `uploading ${printable(basename(path))}`)
    const pointer = await catalog.publish({
      slug,
      source,
      filename: basename(path),
      maxBytes: config.admin.uploadMaxBytes,
      ...(bar ? { onProgress: (loaded: number, total: number) => bar?.update(loaded, total) } : {}),
      ...(parsed.values.title !== undefined ? { title: parsed.values.title } : {}),
      ...(parsed.values.description !== undefined ? { description: parsed.values.description } : {})
    })
    bar?.stop()
    io.out(`published "${printable(pointer.title)}" (${printable(pointer.filename)}, ${formatBytes(pointer.size)}) as ${slug} version ${pointer.version}; it is now current`)
    return 0
  } catch (err) {
    bar?.stop()
    if (err instanceof DomainError) {
      io.err(`${err.message} [${err.code}]`)
      return 1
    }
    io.err(`failed: ${(err as Error).name}: ${(err as Error).message}`)
    return 1
  } finally {
    aws.destroy()
    await runtime.close()
  }
}
