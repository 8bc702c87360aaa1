/**
 * execve() up to the point of no return (fs/exec.c: do_execveat_common(),
 * bprm_execve(), do_open_execat(); fs/binfmt_elf.c: the part of
 * load_elf_binary() before begin_new_exec()): the executable and its
 * interpreter are looked up, checked and their ELF headers read through the
 * page cache, as kernel_read() does. A failure here returns its errno to a
 * process whose address space is untouched.
 *
 * Deviation: no binfmt_script or binfmt_misc ('#!' files are ENOEXEC), no
 * 32-bit compat loader, no ETXTBSY (the model does not count writers of an
 * inode for deny_write_access()), no noexec mounts.
 */
import type { Kernel } from './kernel.js';
import type { Task } from './sched.js';
import { EM_AARCH64, EM_X86_64, elfReadHeaders, type ElfReader } from './binfmt-elf.js';
import type { ElfImage } from './exec.js';
import { File, FMODE_READ } from './fs/file.js';
import { pathLookupAt, raPagesOf } from './fs/syscalls.js';
import { dirname } from './fs/vfs.js';
import { filemapRead } from './mm/filemap.js';
import { AT_FDCWD, type ErrnoName, S_IFMT, S_IFREG } from './uapi.js';

/** What execve() failed with before the point of no return, and why. */
export interface ExecError {
  errno: ErrnoName;
  reason: string;
}

/** The executable and interpreter execve() is about to load. */
export interface BprmImages {
  exe: ElfImage;
  interp: ElfImage | null;
}

/**
 * do_open_execat(): the file at `pathBytes` (from the cwd) opened for
 * reading, if it is a regular file with an execute bit; EACCES for a
 * directory, a device or a file without one.
 */
function doOpenExecat(k: Kernel, task: Task, pathBytes: string): File | ExecError {
  const looked = pathLookupAt(k, task, AT_FDCWD, pathBytes);
  if (typeof looked === 'string') return { errno: looked, reason: `${pathBytes}: path lookup failed` };
  const path = looked.path;
  const vfs = k.vfs;
  if (vfs.dirs.has(path)) return { errno: 'EACCES', reason: `${path} is a directory` };
  const inode = vfs.files.get(path);
  if (inode === undefined) return { errno: vfs.files.has(dirname(path)) ? 'ENOTDIR' : 'ENOENT', reason: `${path} is not in the model's file system` };
  if ((inode.mode & S_IFMT) !== S_IFREG) return { errno: 'EACCES', reason: `${path} is not a regular file` };
  // may_open(MAY_EXEC): even root needs one execute bit (generic_permission()).
  if ((inode.mode & 0o111) === 0) return { errno: 'EACCES', reason: `${path} has no execute permission (mode 0${(inode.mode & 0o7777).toString(8)})` };
  return new File(inode, FMODE_READ, 0, path, raPagesOf(k));
}

/** kernel_read() of the file through the page cache, for the ELF reader. */
function kernelReader(k: Kernel, file: File): ElfReader {
  return (pos, len) => {
    const r = filemapRead(k, file, pos, len);
    return r === 'OOM' ? 'ENOMEM' : r;
  };
}

/** The e_machine elf_check_arch() accepts on this architecture. */
function elfMachine(k: Kernel): number {
  return k.arch.name === 'x86_64' ? EM_X86_64 : EM_AARCH64;
}

/**
 * Everything execve() checks and reads before begin_new_exec(): the
 * executable (ENOENT, EACCES, ENOEXEC for a file that is not an ELF
 * executable for this machine, EIO), then its PT_INTERP interpreter (the
 * lookup's errno; ELIBBAD for one that is not an ELF file for this machine).
 * `copyStrings` runs between the open and the header reads, as the
 * argument strings are copied there (its error, E2BIG, comes first).
 */
export function bprmPrepare(k: Kernel, task: Task, pathBytes: string, copyStrings: () => ExecError | null = () => null): BprmImages | ExecError {
  const exeFile = doOpenExecat(k, task, pathBytes);
  if (!(exeFile instanceof File)) return exeFile;
  // do_execveat_common(): the strings are counted and copied after the open, before the
  // binary handlers read the headers.
  const tooBig = copyStrings();
  if (tooBig !== null) return tooBig;
  const exe = elfReadHeaders(kernelReader(k, exeFile), exeFile.path);
  if (!exe.ok) return exe;
  if (exe.machine !== elfMachine(k)) return { errno: 'ENOEXEC', reason: `${exeFile.path}: e_machine ${exe.machine} is not this machine's (${elfMachine(k)})` };
  if (exe.image.interp === null) return { exe: exe.image, interp: null };
  const interpFile = doOpenExecat(k, task, exe.image.interp);
  if (!(interpFile instanceof File)) return { errno: interpFile.errno, reason: `the interpreter ${exe.image.interp}: ${interpFile.reason}` };
  const interp = elfReadHeaders(kernelReader(k, interpFile), interpFile.path, true);
  if (!interp.ok) {
    // load_elf_binary(): elf_read() of the interpreter's header comes up short: EIO; a
    // header or program header table that is wrong (load_elf_phdrs() failing included): ELIBBAD.
    const short = interp.reason.endsWith('too short for an ELF header');
    return { errno: short ? 'EIO' : interp.errno === 'ENOMEM' ? 'ENOMEM' : 'ELIBBAD', reason: `the interpreter ${interp.reason}` };
  }
  if (interp.machine !== elfMachine(k)) return { errno: 'ELIBBAD', reason: `${interpFile.path}: e_machine ${interp.machine} is not this machine's (${elfMachine(k)})` };
  return { exe: exe.image, interp: interp.image };
}
