// The sender's scan over a bucket with many subscriber records: the S3 requests one scan makes, counted
// in the SDK, to show that it lists outbox/ only and never grows with the number of subscribers.
import { buildApp } from '../src/app.ts'
import { createAwsClients } from '../src/aws/clients.ts'
import { loadConfig } from '../src/config.ts'

export interface ScanCount {
  requests: number
  /** e.g. "ListObjectsV2 × 1, GetObject × 2" */
  byCommand: string
  /** the prefixes listed */
  prefixes: string[]
  /** requests whose key or prefix is under subscribers/ */
  subscriberRequests: number
}

export async function scanRequests (endpoint: string, bucket: string): Promise<ScanCount> {
  const config = loadConfig({
    NODE_ENV: 'production', LOG_LEVEL: 'silent', AWS_REGION: 'us-east-1',
    S3_BUCKET: bucket, S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true', SES_ENDPOINT: endpoint,
    SES_FROM: 'Bench <bench@example.com>', PUBLIC_URL: 'https://bench.example.com',
    TOKEN_SECRET: 'bench-token-secret-0123456789abcdef', ADDRESS_KEY: 'bench-address-key-0123456789abcdef',
    // The scan is called by hand below, once; no loop runs, and no retention sweep lists records meanwhile.
    SENDER: 'off',
    RETENTION_SWEEP_SECONDS: '0'
  })
  const aws = createAwsClients(config, { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
  const seen: Array<{ command: string, key: string }> = []
  let counting = false
  aws.s3.middlewareStack.add((next, context) => async args => {
    const input = args.input as { Key?: string, Prefix?: string }
    if (counting) seen.push({ command: context.commandName ?? '?', key: input.Key ?? input.Prefix ?? '' })
    return await next(args)
  }, { step: 'initialize', name: 'benchScanCount' })
  const app = await buildApp(config, { aws }, { logger: false })
  try {
    await app.ready()
    counting = true
    await app.outbox.scan()
    counting = false
  } finally {
    await app.close()
    aws.destroy()
  }
  const counts = new Map<string, number>()
  for (const s of seen) counts.set(s.command, (counts.get(s.command) ?? 0) + 1)
  return {
    requests: seen.length,
    byCommand: [...counts].map(([c, n]) => `${c.replace(/Command$/, '')} × ${n}`).join(', '),
    prefixes: seen.filter(s => s.command.startsWith('ListObjects')).map(s => s.key),
    subscriberRequests: seen.filter(s => s.key.startsWith('subscribers/')).length
  }
}
