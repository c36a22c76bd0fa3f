// Entry for `npm run signups -- …` (see src/subscribers/export-cli.ts).
import { runSignupsCli } from '../src/subscribers/export-cli.ts'

process.exitCode = await runSignupsCli(process.argv.slice(2), process.env, {
  out: line => process.stdout.write(`${line}\n`),
  err: line => process.stderr.write(`${line}\n`),
  stdout: process.stdout
})
