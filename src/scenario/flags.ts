/**
 * Symbolic constants a scenario may name: the flag and value identifiers
 * strace prints (PROT_READ, MAP_PRIVATE|MAP_FIXED, O_RDWR|O_CREAT, AT_FDCWD,
 * SEEK_END, MADV_DONTNEED, CLONE_THREAD, SIGCHLD, RUSAGE_SELF ...), resolved
 * to their Linux values. The memory-mapping and file constants come from the
 * model's uapi.ts, so the interpreter and the kernel cannot disagree; the few
 * the model has no use for (clone flags, signal numbers, rusage selectors)
 * are listed here with their values from include/uapi/linux/sched.h,
 * asm-generic/signal.h and linux/resource.h.
 */
import * as uapi from '../kernel/uapi.js';

/** Prefixes of the uapi.ts exports that are scenario constants. */
const UAPI_PREFIXES = [
  'PROT_', 'MAP_', 'MS_', 'MREMAP_', 'MADV_', 'MLOCK_', 'MCL_', 'O_', 'AT_', 'SEEK_', 'POSIX_FADV_', 'MFD_', 'S_IF',
  'SEGV_', 'BUS_', 'SIG',
];

/** include/uapi/linux/sched.h */
const CLONE: Record<string, number> = {
  CSIGNAL: 0x000000ff,
  CLONE_VM: 0x00000100,
  CLONE_FS: 0x00000200,
  CLONE_FILES: 0x00000400,
  CLONE_SIGHAND: 0x00000800,
  CLONE_PIDFD: 0x00001000,
  CLONE_PTRACE: 0x00002000,
  CLONE_VFORK: 0x00004000,
  CLONE_PARENT: 0x00008000,
  CLONE_THREAD: 0x00010000,
  CLONE_NEWNS: 0x00020000,
  CLONE_SYSVSEM: 0x00040000,
  CLONE_SETTLS: 0x00080000,
  CLONE_PARENT_SETTID: 0x00100000,
  CLONE_CHILD_CLEARTID: 0x00200000,
  CLONE_DETACHED: 0x00400000,
  CLONE_UNTRACED: 0x00800000,
  CLONE_CHILD_SETTID: 0x01000000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
  CLONE_IO: 0x80000000,
};

/** asm-generic/signal.h (x86_64 and arm64 agree on these). */
const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19,
  SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28,
  SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
};

/** linux/resource.h, and other selectors strace prints by name. */
const MISC: Record<string, number> = {
  RUSAGE_SELF: 0,
  RUSAGE_CHILDREN: -1,
  RUSAGE_THREAD: 1,
  F_OK: 0, X_OK: 1, W_OK: 2, R_OK: 4,
  // include/uapi/linux/stat.h: file types uapi.ts does not list.
  S_IFSOCK: 0o140000, S_IFLNK: 0o120000, S_IFBLK: 0o060000, S_IFCHR: 0o020000, S_IFIFO: 0o010000,
};

function buildTable(): ReadonlyMap<string, bigint> {
  const t = new Map<string, bigint>();
  for (const [name, value] of Object.entries(uapi)) {
    if (typeof value !== 'number') continue;
    if (!UAPI_PREFIXES.some((p) => name.startsWith(p))) continue;
    t.set(name, BigInt(value));
  }
  for (const table of [CLONE, SIGNALS, MISC]) for (const [name, value] of Object.entries(table)) t.set(name, BigInt(value));
  return t;
}

/** Every constant a scenario may name, with its value. */
export const CONSTANTS: ReadonlyMap<string, bigint> = buildTable();

/** The value of a named constant, or undefined when the name is not one. */
export function constantValue(name: string): bigint | undefined {
  return CONSTANTS.get(name);
}

/** The signal number's name (`SIGSEGV` for 11), or undefined. */
export function signalName(n: number): string | undefined {
  for (const [name, v] of Object.entries(SIGNALS)) if (v === n) return name;
  return undefined;
}
