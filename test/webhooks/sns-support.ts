// SNS messages with real signatures for the webhook tests: a test CA signs a certificate that stands in
// for SNS's, served to the verifier by nock at an SNS address (the only place the tests redirect its fetch).
import { execFileSync } from 'node:child_process'
import { createSign, randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import nock from 'nock'
import type { App } from '../../src/app.ts'

export const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-events'
export const CERT_HOST = 'https://sns.us-east-1.amazonaws.com'
const CERT_PATH = `/SimpleNotificationService-${'0123456789abcdef'.repeat(2)}.pem`

export interface Certificates { key: string, cert: string, otherKey: string }

/** A CA and a leaf certificate it signed, made with openssl for this run; nock serves the leaf. */
export async function makeCertificates (dir: string): Promise<Certificates> {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=leadlink test CA')
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'sns.key', '-out', 'sns.csr', '-subj', '/CN=sns.amazonaws.com')
  run('x509', '-req', '-in', 'sns.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'sns.pem', '-days', '2')
  return { key: await readFile(join(dir, 'sns.key'), 'utf8'), cert: await readFile(join(dir, 'sns.pem'), 'utf8'), otherKey: await readFile(join(dir, 'ca.key'), 'utf8') }
}

/** Serves the leaf certificate at its SNS address (call after isolateNetwork). */
export function serveCertificate (certs: Certificates): void {
  nock(CERT_HOST).get(CERT_PATH).reply(200, certs.cert).persist()
}

// The string SNS signs: https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message-verify-message-signature.html
function canonical (m: Record<string, string>): string {
  const keys = m.Type === 'Notification'
    ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
    : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type']
  return keys.filter(k => k in m).map(k => `${k}\n${m[k]}\n`).join('')
}

export function signed (key: string, fields: Record<string, string>, version: '1' | '2' = '2'): Record<string, string> {
  const m = { Timestamp: new Date().toISOString(), MessageId: randomUUID(), TopicArn: TOPIC, ...fields, SignatureVersion: version, SigningCertURL: `${CERT_HOST}${CERT_PATH}` }
  const signature = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256').update(canonical(m)).sign(key, 'base64')
  return { ...m, Signature: signature }
}

export const bounce = (address: string, bounceType = 'Permanent') => JSON.stringify({
  notificationType: 'Bounce',
  bounce: { bounceType, bounceSubType: 'General', feedbackId: 'fb-1', timestamp: new Date().toISOString(), bouncedRecipients: [{ emailAddress: address }] },
  mail: { messageId: 'm-1', destination: [address] }
})

export const complaint = (address: string) => JSON.stringify({
  eventType: 'Complaint',
  complaint: { complaintFeedbackType: 'abuse', feedbackId: 'fb-2', timestamp: new Date().toISOString(), complainedRecipients: [{ emailAddress: address }] },
  mail: { messageId: 'm-2', destination: [address] }
})

/** POSTs an SNS message to the webhook the way SNS does (JSON sent as text/plain). */
export function postTo (app: App) {
  return (body: unknown, contentType = 'text/plain; charset=UTF-8') => app.inject({
    method: 'POST', url: '/webhooks/ses', headers: { 'content-type': contentType, 'x-amz-sns-message-type': 'Notification' }, payload: typeof body === 'string' ? body : JSON.stringify(body)
  })
}
