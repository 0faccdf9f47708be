// Written against the original's types (@anthropic-ai/sandbox-runtime):
// it must compile against them and, unchanged, against srt-rs's. The module
// name `sandbox-runtime` is mapped to one or the other by the tsconfig.
import {
  SandboxManager,
  SandboxViolationStore,
  type FsReadRestrictionConfig,
  type FsWriteRestrictionConfig,
  type NetworkHostPattern,
  type NetworkRestrictionConfig,
  type SandboxAskCallback,
  type SandboxRuntimeConfig,
  type SandboxViolationEvent,
} from 'sandbox-runtime'

const config: SandboxRuntimeConfig = {
  network: { allowedDomains: ['example.com', '*.github.com'], deniedDomains: ['evil.example'] },
  filesystem: { denyRead: ['~/.ssh'], allowWrite: ['.'], denyWrite: ['./secrets'] },
  ignoreViolations: { '*': ['/usr/bin'] },
}

const ask: SandboxAskCallback = async ({ host, port }: NetworkHostPattern) => {
  if (host === 'example.org' && port === 443) return true
  return { allow: false, reason: `not ${host}` }
}

export async function run(): Promise<string> {
  if (!SandboxManager.isSupportedPlatform()) return 'unsupported'
  const deps = await SandboxManager.checkDependenciesAsync()
  const flag: boolean = SandboxManager.askCallbackDenyReason
  const mach: string[] | undefined = SandboxManager.getAllowMachLookup()
  const token: string | undefined = SandboxManager.getProxyAuthToken()
  if (!flag || mach || token) return 'unexpected' 
  if (deps.errors.length > 0) return deps.errors.join(', ')
  await SandboxManager.initialize(config, ask)
  const ready: boolean = await SandboxManager.waitForNetworkInitialization()
  const enabled: boolean = SandboxManager.isSandboxingEnabled()
  const controller = new AbortController()
  const line: string = await SandboxManager.wrapWithSandbox('npm test', undefined, { filesystem: config.filesystem }, controller.signal, {
    commandId: 'a-command-id-of-at-least-22-chars',
  })
  const argv = await SandboxManager.wrapWithSandboxArgv('ls', '/bin/bash')
  const first: string = argv.argv[0]
  SandboxManager.registerCommandNetworkLists('a-command-id-of-at-least-22-chars', { allowedDomains: ['registry.npmjs.org'] })
  SandboxManager.unregisterCommandNetworkLists('a-command-id-of-at-least-22-chars')
  const read: FsReadRestrictionConfig = SandboxManager.getFsReadConfig()
  const write: FsWriteRestrictionConfig = SandboxManager.getFsWriteConfig()
  const net: NetworkRestrictionConfig = SandboxManager.getNetworkRestrictionConfig()
  const port: number | undefined = SandboxManager.getProxyPort()
  const socks: number | undefined = SandboxManager.getSocksProxyPort()
  const store: SandboxViolationStore = SandboxManager.getSandboxViolationStore()
  const unsubscribe = store.subscribe((events: SandboxViolationEvent[]) => {
    for (const e of events) console.log(e.line, e.timestamp.toISOString(), e.command ?? '')
  })
  unsubscribe()
  const count: number = store.getCount() + store.getTotalCount() + store.getViolations(10).length
  const forCommand: SandboxViolationEvent[] = store.getViolationsForCommand('npm test')
  const annotated: string = SandboxManager.annotateStderrWithSandboxFailures('npm test', 'stderr text')
  SandboxManager.updateConfig({ ...config, network: { ...config.network, allowedDomains: [] } })
  const current: SandboxRuntimeConfig | undefined = SandboxManager.getConfig()
  const warnings: string[] = SandboxManager.getLinuxGlobPatternWarnings()
  SandboxManager.cleanupAfterCommand()
  await SandboxManager.reset()
  return [line, first, ready, enabled, read, write, net, port, socks, count, forCommand, annotated, current, warnings].join()
}
