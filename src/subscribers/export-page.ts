// One page of the signup list for /admin/signups: one ListObjectsV2 from a key on (S3's StartAfter)
// and the page's records read with bounded concurrency; never the whole bucket, however many there are.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html#API_ListObjectsV2_RequestSyntax
import type { S3Client } from '@aws-sdk/client-s3'
import { mapAll } from '../concurrency.ts'
import { createJsonStore } from '../storage/json-store.ts'
import { DEFAULT_CONCURRENCY, isRecordKey, toCsvRow, type CsvRow } from './export.ts'
import { SubscriberRecordSchema } from './model.ts'

export const PAGE_SIZE = 50
export const MAX_PAGE_SIZE = 200
/** The part of a record key that names it in the page's URL (`after=`): 64 hex digits. */
export const RECORD_ID_PATTERN = '^[0-9a-f]{64}$'

export interface SignupPage {
  /** the page's signups in key order, as the CSV has them */
  rows: CsvRow[]
  /** pass as `after` for the next page; absent on the last one */
  next?: string
}

export interface SignupPageOptions {
  s3: S3Client
  bucket: string
  /** the id (RECORD_ID_PATTERN) of the last record of the page before; absent: the first page */
  after?: string | undefined
  limit?: number
}

const idOf = (key: string): string => key.slice('subscribers/'.length, -'.json'.length)

export async function signupPage (options: SignupPageOptions): Promise<SignupPage> {
  const limit = Math.min(options.limit ?? PAGE_SIZE, MAX_PAGE_SIZE)
  const json = createJsonStore(options)
  const keys: string[] = []
  // One more than the page, to know whether there is a next page without asking S3 again.
  for await (const object of json.list('subscribers/', { pageSize: limit + 1, ...(options.after ? { startAfter: `subscribers/${options.after}.json` } : {}) })) {
    if (!isRecordKey(object.key)) continue
    keys.push(object.key)
    if (keys.length > limit) break
  }
  const page = keys.slice(0, limit)
  const records = await mapAll(page, DEFAULT_CONCURRENCY, async key => (await json.get(key, SubscriberRecordSchema))?.value)
  const last = page.at(-1)
  return {
    // Listed, then gone (erased meanwhile): left out.
    rows: records.flatMap(r => r ? [toCsvRow(r)] : []),
    ...(keys.length > limit && last ? { next: idOf(last) } : {})
  }
}
