// Types of the library API, shaped like the original's
// (`@anthropic-ai/sandbox-runtime`) for the members srt-rs provides.

export type NetworkHostPattern = { host: string; port: number | undefined }
export type SandboxAskCallback = (p: NetworkHostPattern) => Promise<boolean | { allow: false; reason: string }> | boolean | { allow: false; reason: string }

export type FilesystemPathEntry = string | { path: string; literal: true }

/** What a `filterRequest` decides. */
export type RequestDecision = {
  action: 'allow' | 'deny'
  /** Sent to the client in the refusal's body (denials). */
  reason?: string
  /** Deny only: 400 to 599; anything else answers 403. */
  status?: number
  /** Deny only: accepted for the original's `srt proxy`; unused by the library. */
  mark?: string
  /** Allow only: headers removed from the forwarded request (case-insensitive, `-`, `_` and `.` alike). */
  removeHeaders?: string[]
  /** Allow only: headers set on it, after the removals (framing headers never). On cleartext requests only with `allowPlaintextHeaderSet`. */
  setHeaders?: Array<[string, string]>
  /** Allow only: sees the upstream response's status and headers before the client does. */
  onResponse?: (status: number, headers: Record<string, string | string[]>) => void | Promise<void>
}

/** What srt knows of a request beyond the `Request`. */
export type RequestInfo = {
  scheme?: 'http' | 'https'
  sni?: string
  target?: { host: string; port: number }
  requestTarget?: string
  normalizedRequestTarget?: string
  requestTargetIsAmbiguous?: boolean
  rawHeaders?: string[]
  /** For a GET, HEAD or OPTIONS declaring a body (which the Request leaves out): whether it carries bytes. */
  unshownBody?: () => Promise<boolean>
  /** srt-rs: the `commandId` the sandbox was wrapped with, if any. */
  commandId?: string
}

/** Asked for every plain-HTTP request and every request in a terminated TLS tunnel; a throw denies. */
export type FilterRequestCallback = (request: Request, info?: RequestInfo) => Promise<RequestDecision>

export interface NetworkConfig {
  allowedDomains: string[]
  deniedDomains: string[]
  deniedDomainReasons?: Record<string, string>
  strictAllowlist?: boolean
  deniedResolvedAddresses?: string[]
  allowUnixSockets?: string[]
  allowAllUnixSockets?: boolean
  allowLocalBinding?: boolean
  allowMachLookup?: string[]
  httpProxyPort?: number
  socksProxyPort?: number
  parentProxy?: { http?: string; https?: string; noProxy?: string }
  refuseOpaqueTunnels?: boolean
  requireHostMatch?: boolean
  filterRequest?: FilterRequestCallback
  allowPlaintextHeaderSet?: boolean
  stripResponseHeaders?: string[]
  ambiguousRequestTarget?: 'refuse' | 'asSpelled' | 'normalize'
  [key: string]: unknown
}

export interface FilesystemConfig {
  denyRead: FilesystemPathEntry[]
  allowRead?: FilesystemPathEntry[]
  allowWrite: FilesystemPathEntry[]
  denyWrite: FilesystemPathEntry[]
  allowGitConfig?: boolean
  disabled?: boolean
}

export type IgnoreViolationsConfig = Record<string, string[]>

export interface SandboxRuntimeConfig {
  network: NetworkConfig
  filesystem: FilesystemConfig
  ignoreViolations?: IgnoreViolationsConfig
  enableWeakerNestedSandbox?: boolean
  allowNestedUserNamespaces?: boolean
  mandatoryDenySearchDepth?: number
  bwrapPath?: string
  /** Per sandbox; a key left out takes its default, `null` means no limit. */
  limits?: { maxProcesses?: number | null; maxMemoryMB?: number | null }
  [key: string]: unknown
}

export type FsReadRestrictionConfig = { denyOnly: FilesystemPathEntry[]; allowWithinDeny?: FilesystemPathEntry[] }
export type FsWriteRestrictionConfig = { allowOnly: FilesystemPathEntry[]; denyWithinAllow: FilesystemPathEntry[] }
export type NetworkRestrictionConfig = { allowedHosts?: string[]; deniedHosts?: string[] }
export type SandboxViolationEvent = { line: string; command?: string; encodedCommand?: string; timestamp: Date }
export type SandboxDependencyCheck = { warnings: string[]; errors: string[] }
export type WrapWithSandboxOptions = { commandId?: string; commandText?: string }

export declare class SandboxViolationStore {
  addViolation(violation: SandboxViolationEvent): void
  getViolations(limit?: number): SandboxViolationEvent[]
  getCount(): number
  getTotalCount(): number
  getViolationsForCommand(command: string): SandboxViolationEvent[]
  clear(): void
  subscribe(listener: (violations: SandboxViolationEvent[]) => void): () => void
}

interface SandboxManagerApi {
  initialize(config: SandboxRuntimeConfig, askCallback?: SandboxAskCallback, enableLogMonitor?: boolean): Promise<void>
  isSupportedPlatform(): boolean
  isSandboxingEnabled(): boolean
  checkDependencies(): SandboxDependencyCheck
  checkDependenciesAsync(): Promise<SandboxDependencyCheck>
  getAllowMachLookup(): string[] | undefined
  /** Always undefined: srt-rs issues no proxy token. */
  getProxyAuthToken(): string | undefined
  /** Always undefined: tlsTerminate and credentials are refused as not supported yet. */
  getMitmCA(): undefined
  getSentinelRegistry(): undefined
  getAwsPairRegistry(): undefined
  getMaskedFileStore(): undefined
  readonly askCallbackDenyReason: true
  waitForNetworkInitialization(): Promise<boolean>
  wrapWithSandbox(
    command: string,
    binShell?: string,
    customConfig?: Partial<SandboxRuntimeConfig>,
    abortSignal?: AbortSignal,
    options?: WrapWithSandboxOptions,
  ): Promise<string>
  wrapWithSandboxArgv(
    command: string,
    binShell?: string,
    customConfig?: Partial<SandboxRuntimeConfig>,
    abortSignal?: AbortSignal,
    cwd?: string,
    options?: WrapWithSandboxOptions,
  ): Promise<{ argv: string[]; env: NodeJS.ProcessEnv }>
  cleanupAfterCommand(): void
  reset(): Promise<void>
  getConfig(): SandboxRuntimeConfig | undefined
  updateConfig(newConfig: SandboxRuntimeConfig): void
  getNetworkRestrictionConfig(): NetworkRestrictionConfig
  getFsReadConfig(): FsReadRestrictionConfig
  getFsWriteConfig(): FsWriteRestrictionConfig
  getAllowUnixSockets(): string[] | undefined
  getAllowLocalBinding(): boolean | undefined
  getIgnoreViolations(): IgnoreViolationsConfig | undefined
  getEnableWeakerNestedSandbox(): boolean | undefined
  getProxyPort(): number | undefined
  getSocksProxyPort(): number | undefined
  getLinuxHttpSocketPath(): string | undefined
  getLinuxSocksSocketPath(): string | undefined
  registerCommandNetworkLists(commandId: string, lists: { allowedDomains?: string[] }): void
  unregisterCommandNetworkLists(commandId: string): void
  getLinuxGlobPatternWarnings(): string[]
  getSandboxViolationStore(): SandboxViolationStore
  annotateStderrWithSandboxFailures(command: string, stderr: string): string
}

/** The session API. Static calls use one default instance; `new SandboxManager()` makes an independent one. */
export interface SandboxManager extends SandboxManagerApi {}
export declare const SandboxManager: SandboxManagerApi & { new (): SandboxManager }

export declare function validateConfig(config: SandboxRuntimeConfig | string): { ok: boolean; errors: string[]; warnings: string[] }
export declare function getDefaultWritePaths(): string[]

export declare class SandboxInitializeConflictError extends Error {
  readonly code: 'initialize_conflict'
}
export type LinuxSandboxProfileErrorCode = 'too_many_arguments' | 'nul_in_path' | 'args_file_unavailable' | 'command_too_long'
export declare class LinuxSandboxProfileError extends Error {
  readonly code: LinuxSandboxProfileErrorCode
}

/** One way a config does not fit a schema: `path` is keys and indices, as zod gives them. */
export interface SandboxConfigIssue {
  code: 'custom'
  path: (string | number)[]
  message: string
}
/** Thrown by a schema's `parse`, and `safeParse`'s `error`: shaped like zod's (`name` is `'ZodError'`). */
export declare class SandboxConfigSchemaError extends Error {
  readonly issues: SandboxConfigIssue[]
  readonly errors: SandboxConfigIssue[]
}
export type SafeParseResult<T> = { success: true; data: T } | { success: false; error: SandboxConfigSchemaError }
/** The original's config schemas, judged by srt's own validator (every problem at once). */
export interface SandboxConfigSchema<T> {
  parse(value: unknown): T
  safeParse(value: unknown): SafeParseResult<T>
  parseAsync(value: unknown): Promise<T>
  safeParseAsync(value: unknown): Promise<SafeParseResult<T>>
}
export declare const SandboxRuntimeConfigSchema: SandboxConfigSchema<SandboxRuntimeConfig>
export declare const NetworkConfigSchema: SandboxConfigSchema<NetworkConfig>
export declare const FilesystemConfigSchema: SandboxConfigSchema<FilesystemConfig>
export declare const CredentialsConfigSchema: SandboxConfigSchema<Record<string, unknown>>
export declare const IgnoreViolationsConfigSchema: SandboxConfigSchema<Record<string, string[]>>
export declare const RipgrepConfigSchema: SandboxConfigSchema<Record<string, unknown>>
export declare const WindowsConfigSchema: SandboxConfigSchema<Record<string, unknown>>
export declare const SrtWinConfigSchema: SandboxConfigSchema<Record<string, unknown>>
export declare const GitConfigSchema: SandboxConfigSchema<Record<string, unknown>>
