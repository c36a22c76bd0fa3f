// Lint setup: neostandard with TypeScript support, one config for the whole repo.
import neostandard from 'neostandard'

export default neostandard({
  ts: true,
  ignores: ['node_modules/**', '.data/**', 'templates/build/**', '.tap/**', 'artifacts/**']
})
