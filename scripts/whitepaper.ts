// Entry for `npm run whitepaper -- …` (see src/whitepapers/cli.ts).
import { runWhitepaperCli } from '../src/whitepapers/cli.ts'

process.exitCode = await runWhitepaperCli(process.argv.slice(2), process.env, {
  out: line => process.stdout.write(`${line}\n`),
  err: line => process.stderr.write(`${line}\n`),
  progress: process.stderr
})
