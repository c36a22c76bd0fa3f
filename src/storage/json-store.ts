// The one place that reads and writes JSON in S3: every record is checked against its TypeBox
// schema when read, writes may be conditional (If-None-Match / If-Match), and listing follows every
// ListObjectsV2 page. https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import type { Static, TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { describeProblem } from '../schema/problem.ts'
import { isConditionFailed, isConditionInFlight, isNotFound } from './errors.ts'

/** A conditional write lost: someone else created or changed the object in between. */
export class WriteConflict extends Error {
  /** the key written ('' when the caller did not say) */
  readonly key: string
  /** S3 answered 409: another conditional write to the key was still in flight, and it may yet fail */
  readonly inFlight: boolean
  constructor (key?: string, options?: { inFlight?: boolean, cause?: unknown }) {
    super(`${key ?? 'the object'} changed concurrently`, { cause: options?.cause })
    this.name = 'WriteConflict'
    this.key = key ?? ''
    this.inFlight = options?.inFlight ?? false
  }
}

/** An object that is not the record its key should hold: never handed on as if it were. */
export class InvalidRecord extends Error {
  readonly code = 'record_invalid'
  readonly key: string
  /** the first thing wrong, e.g. `/status must be equal to one of the allowed values` */
  readonly problem: string
  constructor (key: string, problem: string) {
    super(`${key} is not a valid record: ${problem}`)
    this.name = 'InvalidRecord'
    this.key = key
    this.problem = problem
  }
}

export interface Stored<T> {
  value: T
  /** the ETag read, for a later `put` with `ifMatch` ('' if S3 sent none) */
  etag: string
}

/** Create only (`If-None-Match: *`), or replace only the version read (`If-Match`). */
export type WriteCondition = { ifNoneMatch: '*', ifMatch?: undefined } | { ifMatch: string, ifNoneMatch?: undefined }

export type PutOptions = (WriteCondition | { ifNoneMatch?: undefined, ifMatch?: undefined }) & {
  cacheControl?: string
  /** indented, for objects people read in the bucket (pointers, meta.json) */
  pretty?: boolean
}

/** One ListObjectsV2 entry: an object, or (with a delimiter) a common prefix. */
export interface Listed {
  key: string
  size?: number | undefined
  /** the object's ETag as listed: tells a changed object without reading it */
  etag?: string | undefined
  /** a CommonPrefixes entry (the key ends with the delimiter) */
  commonPrefix?: true
}

export interface ListOptions {
  delimiter?: string
  /** MaxKeys per page (S3's maximum, and default, is 1000) */
  pageSize?: number
  /** start after this key (S3's StartAfter): a later page without a continuation token */
  startAfter?: string | undefined
}

/** Why `value` does not match `schema`, from TypeBox's first error (where, then what), or null. */
export function problemOf (schema: TSchema, value: unknown): string | null {
  if (Value.Check(schema, value)) return null
  const errors = Value.Errors(schema, value)
  const where = errors[0] === undefined ? 'it' : errors[0].instancePath === '' ? 'the record' : errors[0].instancePath
  return `${where} ${describeProblem(errors)}`
}

async function bodyText (body: unknown): Promise<string> {
  const b = body as { transformToString?: () => Promise<string> } | undefined
  if (!b?.transformToString) throw new Error('S3 returned no body')
  return await b.transformToString()
}

export type JsonStore = ReturnType<typeof createJsonStore>

export function createJsonStore (options: { s3: S3Client, bucket: string }) {
  const { s3, bucket } = options

  return {
    /** The record at `key` with its ETag, checked against `schema`; null when there is none. */
    async get<S extends TSchema> (key: string, schema: S): Promise<Stored<Static<S>> | null> {
      let text: string
      let etag: string
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        text = await bodyText(res.Body)
        etag = res.ETag ?? ''
      } catch (err) {
        if (isNotFound(err)) return null
        throw err
      }
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        throw new InvalidRecord(key, 'it is not JSON')
      }
      const problem = problemOf(schema, value)
      if (problem) throw new InvalidRecord(key, problem)
      return { value: value as Static<S>, etag }
    },

    /** Writes `value` as JSON; answers the new ETag. A condition that does not hold is a WriteConflict. */
    async put (key: string, value: unknown, put: PutOptions = {}): Promise<string> {
      try {
        const res = await s3.send(new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: put.pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value),
          ContentType: 'application/json',
          ...(put.cacheControl ? { CacheControl: put.cacheControl } : {}),
          ...(put.ifNoneMatch ? { IfNoneMatch: put.ifNoneMatch } : {}),
          ...(put.ifMatch ? { IfMatch: put.ifMatch } : {})
        }))
        return res.ETag ?? ''
      } catch (err) {
        if ((put.ifNoneMatch || put.ifMatch) && isConditionFailed(err)) {
          throw new WriteConflict(key, { inFlight: isConditionInFlight(err), cause: err })
        }
        throw err
      }
    },

    /** Deletes the object (deleting an absent key is not an error in S3). */
    async delete (key: string): Promise<void> {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
    },

    /** Whether an object is at `key` (one HEAD; nothing is read). */
    async exists (key: string): Promise<boolean> {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
        return true
      } catch (err) {
        if (isNotFound(err)) return false
        throw err
      }
    },

    /**
     * Every object under `prefix` (and, with a delimiter, every common prefix), page after page, in
     * S3's order; a page is requested only when the one before is used up.
     * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
     */
    async * list (prefix: string, list: ListOptions = {}): AsyncGenerator<Listed> {
      let token: string | undefined
      do {
        const page = await s3.send(new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(list.delimiter ? { Delimiter: list.delimiter } : {}),
          ContinuationToken: token,
          ...(list.startAfter && !token ? { StartAfter: list.startAfter } : {}),
          ...(list.pageSize ? { MaxKeys: list.pageSize } : {})
        }))
        for (const object of page.Contents ?? []) {
          if (object.Key) yield { key: object.Key, size: object.Size, etag: object.ETag }
        }
        for (const common of page.CommonPrefixes ?? []) {
          if (common.Prefix) yield { key: common.Prefix, commonPrefix: true }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
    }
  }
}
