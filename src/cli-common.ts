// What every command-line tool does first: read its arguments (usage on --help or a mistake) and
// load the settings it needs (the bucket only), reporting problems as exit codes, not stack traces.
import { ConfigError, loadConfig, type Config } from './config.ts'

export interface CliOutput {
  out: (line: string) => void
  err: (line: string) => void
}

interface ParsedLine {
  positionals: string[]
  values: { help?: boolean | undefined }
}

/** The parsed line and its command, or the exit code to return (0 after --help, 2 on a mistake). */
export function readCommandLine<P extends ParsedLine> (argv: string[], parse: (argv: string[]) => P, usage: string, io: CliOutput): { parsed: P, command: string, rest: string[] } | number {
  let parsed: P
  try {
    parsed = parse(argv)
  } catch (err) {
    io.err(`${(err as Error).message}\n${usage}`)
    return 2
  }
  const [command, ...rest] = parsed.positionals
  if (parsed.values.help || !command) {
    io.out(usage)
    return parsed.values.help ? 0 : 2
  }
  return { parsed, command, rest }
}

/** Settings for commands that only touch the bucket; exit code 1 with every problem listed. */
export function loadCliConfig (env: Record<string, string | undefined>, io: CliOutput): Config | number {
  try {
    return loadConfig(env, { role: 'catalog' })
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message)
      return 1
    }
    throw err
  }
}
