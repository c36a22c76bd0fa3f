// Prints the README's cost table (Performance → Cost) from test/cost/model.ts, whose figures
// test/cost/cost-model.test.ts checks against the app's real AWS calls on the emulators.
import { costTable } from '../test/cost/model.ts'

console.log(costTable())
