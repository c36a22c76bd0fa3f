// AWS clients, created once from config and shared by the stores and senders.
import { S3Client } from '@aws-sdk/client-s3'
import { SESv2Client } from '@aws-sdk/client-sesv2'
import type { AuthScheme, AwsCredentialIdentity, AwsCredentialIdentityProvider, RequestSigner } from '@aws-sdk/types'
import type { Config } from '../config.ts'
import { Sha256 } from './sha256.ts'

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
    maxAttempts: 3,
    // The middleware stack is resolved once per command class instead of on every call (a tenth of
    // an S3 call's CPU here). Middleware added to a client must be added before its first call.
    cacheMiddleware: true,
    // SigV4's hashes with the day's signing key prepared once (src/aws/sha256.ts).
    sha256: Sha256
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
  shareSigner(s3)
  shareSigner(ses)
  return {
    s3,
    ses,
    destroy () {
      s3.destroy()
      ses.destroy()
    }
  }
}

interface SigningClient {
  config: { signer: (authScheme?: AuthScheme) => Promise<RequestSigner> }
}

/**
 * The SDK builds a new SigV4 signer for every request, copying the client's whole configuration into
 * it (@aws-sdk/core, resolveAwsSdkSigV4Config). What it is built from is that configuration and the
 * endpoint's auth scheme, so one signer per scheme signs the same (test/aws/clients.test.ts) for less
 * CPU. It still asks the client's credential provider on every request, so rotated credentials are used.
 */
export function shareSigner (client: SigningClient): void {
  const perRequest = client.config.signer
  const signers = new Map<string, Promise<RequestSigner>>()
  // The SDK caches resolved endpoints, so the same scheme object comes back call after call: found
  // by identity first, by content (a JSON key) the first time an object is seen.
  let seen = new WeakMap<AuthScheme, Promise<RequestSigner>>()
  client.config.signer = authScheme => {
    const known = authScheme && seen.get(authScheme)
    if (known) return known
    const key = JSON.stringify(authScheme ?? null)
    let signer = signers.get(key)
    if (!signer) {
      signer = perRequest(authScheme)
      signers.set(key, signer)
      signer.catch(() => {
        signers.delete(key)
        seen = new WeakMap()
      })
    }
    if (authScheme) seen.set(authScheme, signer)
    return signer
  }
}
