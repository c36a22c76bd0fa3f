// Entry for `npm run signups -- …` (see src/subscribers/export-cli.ts; migrate-keys and sweep: src/privacy/privacy-cli.ts).
import { isPrivacyCommand, runPrivacyCli } from '../src/privacy/privacy-cli.ts'
import { runSignupsCli } from '../src/subscribers/export-cli.ts'

const argv = process.argv.slice(2)
const io = {
  out: (line: string) => process.stdout.write(`${line}\n`),
  err: (line: string) => process.stderr.write(`${line}\n`),
  stdout: process.stdout
}
process.exitCode = isPrivacyCommand(argv) ? await runPrivacyCli(argv, process.env, io) : await runSignupsCli(argv, process.env, io)
