// The naive signup route the bench compares leadlink with: PutObject, presign, SendEmail inline, then 303.
// Run as a file, it listens; imported, it only exports.
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { SendEmailCommand } from '@aws-sdk/client-sesv2'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { benchEnv } from './aws.ts'
import { BENCH_PDF_KEY } from './stand-ins.ts'

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)

export async function startNaiveServer (env: Record<string, string | undefined>): Promise<FastifyInstance> {
  const { port, host, bucket, from, s3, ses } = benchEnv(env)
  const app = Fastify({ logger: { level: env.LOG_LEVEL ?? 'warn' } })
  await app.register(formbody)
  app.addHook('onClose', async () => {
    s3.destroy()
    ses.destroy()
  })

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.post<{ Body: { email: string, slug?: string } }>('/subscribe', {
    schema: {
      body: {
        type: 'object',
        required: ['email'],
        properties: { email: { type: 'string', maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' }, slug: { type: 'string', maxLength: 64 } }
      }
    }
  }, async (request, reply) => {
    const { email, slug = 'default' } = request.body
    const at = new Date().toISOString()
    await s3.send(new PutObjectCommand({
      Bucket: bucket,
      Key: `signups/${randomUUID()}.json`,
      Body: JSON.stringify({ email, slug, at, ip: request.ip, userAgent: request.headers['user-agent'] ?? '' }),
      ContentType: 'application/json'
    }))
    const url = await getSignedUrl(s3, new GetObjectCommand({
      Bucket: bucket,
      Key: BENCH_PDF_KEY,
      ResponseContentDisposition: 'attachment; filename="paper.pdf"',
      ResponseContentType: 'application/pdf'
    }), { expiresIn: 604800 })
    await ses.send(new SendEmailCommand({
      FromEmailAddress: from,
      Destination: { ToAddresses: [email] },
      Content: {
        Simple: {
          Subject: { Data: 'Your copy of Bench paper', Charset: 'UTF-8' },
          Body: {
            Html: { Data: `<p>Thanks for signing up.</p><p><a href="${escapeHtml(url)}">Download the whitepaper</a> (the link expires in 7 days).</p>`, Charset: 'UTF-8' },
            Text: { Data: `Thanks for signing up.\n\nDownload the whitepaper: ${url}\n`, Charset: 'UTF-8' }
          }
        }
      }
    }))
    return reply.redirect('/thanks', 303)
  })
  await app.listen({ port, host })
  return app
}

if (import.meta.main) {
  const app = await startNaiveServer(process.env)
  process.once('SIGTERM', () => {
    app.close().then(() => process.exit(0), () => process.exit(1))
  })
}
