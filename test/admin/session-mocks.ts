// For nock-based admin tests: S3 answers for admin/sessions/ (a small in-memory bucket for that prefix
// only), recording every request so that tests can assert exactly what was sent.
import nock from 'nock'
import { S3_HOST } from '../helper.ts'

const SESSION_PATH = /^\/admin\/sessions\/[0-9a-f]{64}\.json$/
const XML = { 'Content-Type': 'application/xml' }
const NOT_FOUND = '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>'
const PRECONDITION = '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>'

export interface SessionRequest { method: string, key: string, headers: Record<string, string>, body: string }

export interface SessionMocks {
  /** the stored records by key */
  records: Map<string, string>
  /** every request to admin/sessions/, in order */
  seen: SessionRequest[]
}

/** Persisted interceptors for the session records (nock.cleanAll, done by isolateNetwork's teardown, removes them). */
export function sessionMocks (): SessionMocks {
  const records = new Map<string, string>()
  const seen: SessionRequest[] = []
  // nock 15 hands a reply function the request as a fetch Request.
  const note = async (req: Request): Promise<SessionRequest> => {
    const entry = { method: req.method, key: new URL(req.url).pathname.slice(1), headers: Object.fromEntries(req.headers.entries()), body: await req.text() }
    seen.push(entry)
    return entry
  }
  nock(S3_HOST).persist()
    .put(SESSION_PATH).query(true).reply(async (req: Request) => {
      const { key, headers, body } = await note(req)
      if (headers['if-none-match'] === '*' && records.has(key)) return [412, PRECONDITION, XML]
      records.set(key, body)
      return [200, '', { ETag: '"session"' }]
    })
    .get(SESSION_PATH).query(true).reply(async (req: Request) => {
      const record = records.get((await note(req)).key)
      return record === undefined ? [404, NOT_FOUND, XML] : [200, record, { 'Content-Type': 'application/json', ETag: '"session"' }]
    })
    .delete(SESSION_PATH).query(true).reply(async (req: Request) => {
      records.delete((await note(req)).key)
      return [204, '']
    })
  return { records, seen }
}

/** Mocks still waiting, other than the persisted session ones (which need not all be used). */
export function pendingOtherThanSessions (): string[] {
  return nock.pendingMocks().filter(m => !m.includes('sessions'))
}
