// AWS clients, created once from config and shared by the stores and senders.
import { S3Client } from '@aws-sdk/client-s3'
import { SESv2Client } from '@aws-sdk/client-sesv2'
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types'
import type { Config } from '../config.ts'

export interface AwsClients {
  s3: S3Client
  ses: SESv2Client
  destroy: () => void
}

export interface ClientOptions {
  /** static credentials (local mode and tests); otherwise the SDK's default chain */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider
}

export function createAwsClients (config: Config, options: ClientOptions = {}): AwsClients {
  const common = {
    region: config.aws.region,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // Each client retries throttling and 5xx with backoff and jitter (standard mode).
    maxAttempts: 3
  }
  const s3 = new S3Client({
    ...common,
    ...(config.aws.s3.endpoint ? { endpoint: config.aws.s3.endpoint } : {}),
    forcePathStyle: config.aws.s3.forcePathStyle,
    // CRC32 on every small PUT costs CPU and breaks presigned uploads; S3 still checks MD5/TLS.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
  const ses = new SESv2Client({
    ...common,
    // The outbox sender retries with its own backoff and records each attempt; no hidden retries.
    maxAttempts: 1,
    ...(config.aws.ses.endpoint ? { endpoint: config.aws.ses.endpoint } : {})
  })
  return {
    s3,
    ses,
    destroy () {
      s3.destroy()
      ses.destroy()
    }
  }
}
