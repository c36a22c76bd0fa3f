// Resolves where S3 and SES are for commands run beside the server (CLI): AWS as configured, or in
// local mode the emulators of a running `npm start`, else emulators started just for the command.
import type { ClientOptions } from './aws/clients.ts'
import { reconfigure, type Config } from './config.ts'

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
  const { LOCAL_CREDENTIALS, emulatorEndpoints, localSecrets, startLocalStack } = await import('./local/stack.ts')
  const endpoints = emulatorEndpoints(config.local.s3Port, config.local.sesPort)
  if (await reachable(endpoints.S3_ENDPOINT)) {
    return {
      // The running server's record keys and links: the secrets its data folder keeps.
      config: reconfigure(config, { ...endpoints, ...await localSecrets(config) }, { role: 'catalog' }),
      clientOptions: { credentials: LOCAL_CREDENTIALS },
      close: async () => {}
    }
  }
  const stack = await startLocalStack(config)
  return { config: stack.config, clientOptions: { credentials: stack.credentials }, close: stack.close }
}
