// AWS clients for the bench's comparison servers, built with the same settings as src/aws/clients.ts.
import { S3Client } from '@aws-sdk/client-s3'
import { SESv2Client } from '@aws-sdk/client-sesv2'

export interface BenchEnv {
  port: number
  host: string
  bucket: string
  from: string
  s3: S3Client
  ses: SESv2Client
}

/** Reads the same variables as leadlink (the bench sets them), so every server talks to the same stand-ins. */
export function benchEnv (env: Record<string, string | undefined>): BenchEnv {
  const region = env.AWS_REGION ?? 'us-east-1'
  const s3 = new S3Client({
    region,
    maxAttempts: 3,
    ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
    forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
  const ses = new SESv2Client({
    region,
    maxAttempts: 3,
    ...(env.SES_ENDPOINT ? { endpoint: env.SES_ENDPOINT } : {})
  })
  return {
    port: Number(env.PORT ?? 3000),
    host: env.HOST ?? '127.0.0.1',
    bucket: env.S3_BUCKET ?? 'bench-bucket',
    from: env.SES_FROM ?? 'Bench <bench@example.com>',
    s3,
    ses
  }
}
