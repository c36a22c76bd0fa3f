// Resolves where S3 and SES are for commands run beside the server (CLI): AWS as configured, or in
// local mode the emulators of a running `npm start`, else emulators started just for the command.
import type { ClientOptions } from './aws/clients.ts'
import type { Config } from './config.ts'

export interface Runtime {
  config: Config
  clientOptions: ClientOptions
  close: () => Promise<void>
}

async function reachable (url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1000) })
    return true
  } catch {
    return false
  }
}

export async function connectRuntime (config: Config): Promise<Runtime> {
  if (config.mode === 'aws') return { config, clientOptions: {}, close: async () => {} }
  const { LOCAL_CREDENTIALS, startLocalStack } = await import('./local/stack.ts')
  const s3Url = `http://localhost:${config.LOCAL_S3_PORT}`
  if (await reachable(s3Url)) {
    return {
      config: { ...config, S3_ENDPOINT: s3Url, S3_FORCE_PATH_STYLE: true, SES_ENDPOINT: `http://localhost:${config.LOCAL_SES_PORT}` },
      clientOptions: { credentials: LOCAL_CREDENTIALS },
      close: async () => {}
    }
  }
  const stack = await startLocalStack(config)
  return { config: stack.config, clientOptions: { credentials: stack.credentials }, close: stack.close }
}
