// Every setting in the config schema is documented in .env.example and in the README table.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { EnvSchema } from '../src/config.ts'

t.test('each env variable is documented', async t => {
  const example = await readFile(new URL('../.env.example', import.meta.url), 'utf8')
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  for (const name of Object.keys(EnvSchema.properties)) {
    t.match(example, new RegExp(`^${name}=`, 'm'), `${name} in .env.example`)
    t.match(readme, `| \`${name}\` |`, `${name} in the README table`)
  }
})
