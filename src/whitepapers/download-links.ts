// Download links: presigned S3 GET URLs that make S3 answer with an attachment under the real name.
// Minting is cheap: the SDK's getSignedUrl runs once per file to learn the request's shape (endpoint,
// path style, encoding), then one reused presigner signs it, and a signed URL is shared by the
// recipients of a short window (it carries nothing personal).
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl, S3RequestPresigner } from '@aws-sdk/s3-request-presigner'
import { attachmentDisposition } from './content-disposition.ts'
import type { WhitepaperPointer } from './catalog.ts'

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

interface RequestTemplate {
  protocol: string
  hostname: string
  port: number | undefined
  path: string
  query: Record<string, string>
  host: string
}

// RFC 3986 unreserved characters stay; everything else is percent-encoded, as SigV4 canonicalises.
function escapeUri (value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

export type DownloadLinks = ReturnType<typeof createDownloadLinks>

export function createDownloadLinks (options: DownloadLinkOptions) {
  const { s3, bucket } = options
  const reuseMs = options.reuseMs ?? 60_000
  const now = options.now ?? Date.now
  const templates = new Map<string, Promise<RequestTemplate>>()
  const cache = new Map<string, { link: MintedLink, mintedAt: number }>()
  let presigner: Promise<{ presigner: S3RequestPresigner, region: string }> | undefined

  function getPresigner () {
    presigner ??= (async () => {
      const region = await s3.config.region()
      return { presigner: new S3RequestPresigner({ ...s3.config, signingName: 's3', region: async () => region }), region }
    })()
    return presigner
  }

  function command (pointer: WhitepaperPointer) {
    return new GetObjectCommand({
      Bucket: bucket,
      Key: pointer.key,
      ResponseContentDisposition: attachmentDisposition(pointer.filename),
      ResponseContentType: 'application/pdf'
    })
  }

  /** Learns the request's shape from the SDK itself, once per file. */
  function template (pointer: WhitepaperPointer): Promise<RequestTemplate> {
    const key = `${pointer.key}\n${pointer.filename}`
    let found = templates.get(key)
    if (!found) {
      found = getSignedUrl(s3, command(pointer), { expiresIn: 60 }).then(signed => {
        const url = new URL(signed)
        const query: Record<string, string> = {}
        for (const [name, value] of url.searchParams) if (!name.startsWith('X-Amz-')) query[name] = value
        return { protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname, query, host: url.host }
      })
      found.catch(() => templates.delete(key))
      if (templates.size > 1000) templates.clear()
      templates.set(key, found)
    }
    return found
  }

  async function sign (pointer: WhitepaperPointer, expiresIn: number, signingDate: Date): Promise<string> {
    const [shape, { presigner: signer, region }] = await Promise.all([template(pointer), getPresigner()])
    const request = {
      method: 'GET',
      protocol: shape.protocol,
      hostname: shape.hostname,
      port: shape.port,
      path: shape.path,
      query: { ...shape.query },
      headers: { host: shape.host },
      body: undefined
    }
    const signed = await signer.presign(request as unknown as Parameters<S3RequestPresigner['presign']>[0], {
      expiresIn, signingDate, signingRegion: region, signingService: 's3'
    })
    const query = Object.entries(signed.query as Record<string, string>).map(([k, v]) => `${escapeUri(k)}=${escapeUri(v)}`).join('&')
    return `${shape.protocol}//${shape.host}${shape.path}?${query}`
  }

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

    /** The SDK's own getSignedUrl, for comparison in tests and benchmarks. */
    async mintWithGetSignedUrl (pointer: WhitepaperPointer, ttlSeconds: number, signingDate: Date): Promise<string> {
      return await getSignedUrl(s3, command(pointer), { expiresIn: ttlSeconds, signingDate })
    },

    /** Signs without the reuse cache (benchmarks). */
    signFresh: (pointer: WhitepaperPointer, ttlSeconds: number, signingDate: Date) => sign(pointer, ttlSeconds, signingDate)
  }
}
