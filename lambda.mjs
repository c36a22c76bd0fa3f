// AWS Lambda entry points: handler "lambda.handler" (HTTP) and "lambda.senderHandler" (the outbox
// sender, invoked by S3 event notifications and a schedule). The Lambda runtime loads this file; it is
// the bundle `npm run build` makes of src/lambda.ts (one file to load at a cold start, no types to strip).
export { handler, senderHandler } from './dist/node/lambda.mjs'
