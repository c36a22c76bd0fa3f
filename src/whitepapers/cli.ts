// `npm run whitepaper -- <command>`: publish and inspect whitepapers with the server's own catalog code.
import { readFile, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import type { Stats } from 'node:fs'
import { createAwsClients } from '../aws/clients.ts'
import { ConfigError, loadConfig, type Config } from '../config.ts'
import { DomainError } from '../errors.ts'
import { connectRuntime } from '../runtime.ts'
import { createCatalog, DEFAULT_SLUG } from './catalog.ts'
import { formatBytes } from '../mail/confirmation-email.ts'

export interface CliIo {
  out: (line: string) => void
  err: (line: string) => void
}

export const USAGE = `usage:
  npm run whitepaper -- publish <file.pdf> [--slug default] [--title "…"] [--description "…"]
  npm run whitepaper -- show [--slug default]`

// A single PUT takes up to 5 GB; whitepapers are far smaller, and this bounds memory.
const MAX_PUBLISH_BYTES = 512 * 1024 * 1024

function parseCliArgs (argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      slug: { type: 'string', default: DEFAULT_SLUG },
      title: { type: 'string' },
      description: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
}

export async function runWhitepaperCli (argv: string[], env: Record<string, string | undefined>, io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseCliArgs>
  try {
    parsed = parseCliArgs(argv)
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}`)
    return 2
  }
  const [command, ...rest] = parsed.positionals
  if (parsed.values.help || !command) {
    io.out(USAGE)
    return parsed.values.help ? 0 : 2
  }
  if (command !== 'publish' && command !== 'show') {
    io.err(`unknown command "${command}"\n${USAGE}`)
    return 2
  }
  if (command === 'publish' && rest.length !== 1) {
    io.err(`publish takes exactly one file\n${USAGE}`)
    return 2
  }

  let config: Config
  try {
    config = loadConfig(env, { role: 'catalog' })
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message)
      return 1
    }
    throw err
  }
  const runtime = await connectRuntime(config)
  const aws = createAwsClients(runtime.config, runtime.clientOptions)
  try {
    const catalog = createCatalog({ s3: aws.s3, bucket: runtime.config.s3Bucket, refreshMs: 0 })
    const slug = parsed.values.slug
    if (command === 'show') {
      const pointer = await catalog.require(slug)
      io.out(JSON.stringify(pointer, null, 2))
      return 0
    }
    const file = rest[0] as string
    let info: Stats
    try {
      info = await stat(file)
    } catch {
      io.err(`cannot read ${file}: no such file`)
      return 1
    }
    if (!info.isFile()) {
      io.err(`${file} is not a file`)
      return 1
    }
    if (info.size > MAX_PUBLISH_BYTES) {
      io.err(`${file} is ${formatBytes(info.size)}; the limit is ${formatBytes(MAX_PUBLISH_BYTES)}`)
      return 1
    }
    const pointer = await catalog.publish({
      slug,
      bytes: await readFile(file),
      filename: basename(file),
      ...(parsed.values.title !== undefined ? { title: parsed.values.title } : {}),
      ...(parsed.values.description !== undefined ? { description: parsed.values.description } : {})
    })
    io.out(`published "${pointer.title}" (${pointer.filename}, ${formatBytes(pointer.size)}) as ${slug} version ${pointer.version}; it is now current`)
    return 0
  } catch (err) {
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
