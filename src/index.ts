/**
 * mmsim's public API: the Linux memory-mapping subsystem as a library
 * (ESM only). Create a Machine, spawn processes, call syscalls (bigint
 * addresses, results as values or errno names), load and store through the
 * MMU (faults as values), read /proc renderings and the read-only snapshot
 * views (VMAs, page walks, frames, the page cache, the TLB, counters),
 * subscribe to the kernel's event stream, and give the model files through
 * an FsBackend (memoryBackend() here, hostFolder() in mmsim/host-fs).
 * Nothing else in the package is public: its exports map refuses deep imports.
 */
export { Machine, MAX_ACCESS_BYTES, type MachineOptions, type ExecveOptions, type ExecveResult, type SysResult, type AccessResult, type AccessFault, type FileStat, type Rusage } from './kernel/machine.js';
export { ARCH_PROFILES, archProfile, type ArchName, type ArchProfile } from './kernel/arch/profile.js';
export { DEFAULT_SETTINGS, type Settings } from './kernel/settings.js';
export type { MachineEvent, MachineEventListener } from './kernel/events.js';
export * as uapi from './kernel/uapi.js';
export type {
  Counters, DiskCounters, FrameSnapshot, MemoryCounters, PageCacheSnapshot, PageMapping, PageWalk, ProcessCounters,
  TlbSnapshot, VmaSnapshot, VmstatCounters, WalkLevel,
} from './kernel/snapshot.js';
export { FsBackendError, type FsBackend, type FsBackendEntry, type FsBackendErrorCode, type FsBackendStats } from './kernel/fs/backend.js';
export { MemoryBackend, memoryBackend, type MemoryBackendFiles, type MemoryBackendOptions } from './fs-memory/memory-backend.js';
