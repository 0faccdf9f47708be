// ESM entry: the same objects as the CommonJS entry.
import api from './index.js'

export const {
  SandboxManager,
  SandboxViolationStore,
  SandboxInitializeConflictError,
  LinuxSandboxProfileError,
  SandboxConfigSchemaError,
  validateConfig,
  getDefaultWritePaths,
  SandboxRuntimeConfigSchema,
  NetworkConfigSchema,
  FilesystemConfigSchema,
  CredentialsConfigSchema,
  IgnoreViolationsConfigSchema,
  RipgrepConfigSchema,
  WindowsConfigSchema,
  SrtWinConfigSchema,
  GitConfigSchema,
} = api
export default api
