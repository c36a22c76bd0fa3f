// Download links: presigned S3 GET URLs that make S3 answer with an attachment under the real name.
// Signed by the SDK's own getSignedUrl (whatever its middleware adds to the query stays right), and
// cheap all the same: a signed URL is shared by the recipients of a short window (it carries nothing
// personal), so getSignedUrl runs about once a minute per file.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { attachmentDisposition } from './content-disposition.ts'
import type { WhitepaperPointer } from './model.ts'

export interface MintedLink {
  url: string
  expiresAt: Date
}

export interface DownloadLinkOptions {
  s3: S3Client
  bucket: string
  /** how long one signed URL is handed to successive recipients (its expiry drifts by at most this) */
  reuseMs?: number
  now?: () => number
}

/** The credentials' expiry, when they are temporary (STS, SSO, an instance or task role). */
export async function credentialsExpiry (s3: S3Client): Promise<Date | undefined> {
  const creds = await s3.config.credentials()
  return creds.expiration
}

// A link signed with temporary credentials dies with them: keep this margin before their expiry.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html
const CREDENTIAL_MARGIN_MS = 60_000

export type DownloadLinks = ReturnType<typeof createDownloadLinks>

export function createDownloadLinks (options: DownloadLinkOptions) {
  const { s3, bucket } = options
  const reuseMs = options.reuseMs ?? 60_000
  const now = options.now ?? Date.now
  const cache = new Map<string, { link: MintedLink, mintedAt: number }>()

  function command (pointer: WhitepaperPointer) {
    return new GetObjectCommand({
      Bucket: bucket,
      Key: pointer.key,
      ResponseContentDisposition: attachmentDisposition(pointer.filename),
      ResponseContentType: 'application/pdf'
    })
  }

  const sign = (pointer: WhitepaperPointer, expiresIn: number, signingDate: Date): Promise<string> =>
    getSignedUrl(s3, command(pointer), { expiresIn, signingDate })

  return {
    /**
     * A presigned GET for the pointer's version, valid for `ttlSeconds` (at most 604800), or less when
     * the signing credentials expire sooner: the expiry returned is the one the URL really has.
     */
    async mint (pointer: WhitepaperPointer, ttlSeconds: number): Promise<MintedLink> {
      const at = now()
      const credentialExpiry = (await credentialsExpiry(s3))?.getTime()
      const cacheKey = `${pointer.key}\n${pointer.filename}\n${ttlSeconds}`
      const hit = cache.get(cacheKey)
      // Reuse only while the drift is a small part of the lifetime, and never past the credentials.
      const window = Math.min(reuseMs, ttlSeconds * 1000 / 20)
      if (hit && at - hit.mintedAt < window && (credentialExpiry === undefined || hit.link.expiresAt.getTime() <= credentialExpiry)) {
        return hit.link
      }
      // X-Amz-Date has one-second resolution: the link dies exactly ttl seconds after that second.
      const signedAt = Math.floor(at / 1000) * 1000
      let ttl = ttlSeconds
      if (credentialExpiry !== undefined) {
        ttl = Math.max(1, Math.min(ttl, Math.floor((credentialExpiry - CREDENTIAL_MARGIN_MS - signedAt) / 1000)))
      }
      const link = { url: await sign(pointer, ttl, new Date(signedAt)), expiresAt: new Date(signedAt + ttl * 1000) }
      if (cache.size > 1000) cache.clear()
      cache.set(cacheKey, { link, mintedAt: at })
      return link
    },

    /** getSignedUrl itself, without the reuse cache (tests and the bench compare against it). */
    signFresh: sign
  }
}
