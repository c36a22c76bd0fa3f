// The signups section's S3: local mode's s3rver (with its fixes, src/local/s3rver-realism.ts) in a
// process of its own over a data folder the section seeded, so that the export and the server are
// measured without the emulator's CPU and memory. Prints {"port":N} once it listens.
import S3rver from 's3rver'
import { makeS3rverRealistic } from '../src/local/s3rver-realism.ts'

const [directory, bucket] = process.argv.slice(2)
if (!directory || !bucket) throw new Error('usage: s3rver-process.ts <directory> <bucket>')
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] })
makeS3rverRealistic(server as never)
const { port } = await server.run()
process.stdout.write(`${JSON.stringify({ port })}\n`)
process.once('SIGTERM', () => { server.close().finally(() => process.exit(0)) })
