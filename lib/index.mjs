// ESM entry: the same objects as the CommonJS entry.
import api from './index.js'

export const { SandboxManager, SandboxViolationStore, SandboxInitializeConflictError, LinuxSandboxProfileError, validateConfig, getDefaultWritePaths } = api
export default api
