// AWS Lambda entry point: handler "lambda.handler". The Lambda runtime only loads .js/.mjs/.cjs
// files; Node 24 strips the TypeScript types of src/ itself, as it does for `npm start`.
export { handler } from './src/lambda.ts'
