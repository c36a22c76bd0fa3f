// AWS Lambda entry point: handler "lambda.handler". The Lambda runtime loads this file; it is the
// bundle `npm run build` makes of src/lambda.ts (one file to load at a cold start, no types to strip).
export { handler } from './dist/node/lambda.mjs'
