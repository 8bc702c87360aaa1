/**
 * The host-file adapter: what the replay may learn about files named in a
 * log from the machine it runs on. Read-only: it stats, resolves symlinks
 * and reads the first bytes of ELF files; it never opens anything for
 * writing. The interface lets tests stand a fake host in.
 */
import * as fs from 'node:fs';

export interface HostStat {
  /** The path with symlinks resolved (what /proc/PID/maps shows). */
  realPath: string;
  major: number;
  minor: number;
  ino: number;
  size: number;
  mode: number;
  isFile: boolean;
  isDir: boolean;
}

export interface HostFs {
  stat(path: string): HostStat | null;
  /** Up to maxBytes from the start of a regular file, or null (never opens or reads anything else: FIFOs, devices). */
  readHead(path: string, maxBytes: number): Uint8Array | null;
}

/** new_decode_dev() of the dev_t Node reports. */
export function decodeDev(dev: number): { major: number; minor: number } {
  return { major: Math.floor(dev / 256) & 0xfff, minor: (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00) };
}

/** The real file system, read-only. */
export const nodeHost: HostFs = {
  stat(path: string): HostStat | null {
    try {
      const realPath = fs.realpathSync(path);
      const st = fs.statSync(realPath);
      const { major, minor } = decodeDev(st.dev);
      return { realPath, major, minor, ino: st.ino, size: st.size, mode: st.mode, isFile: st.isFile(), isDir: st.isDirectory() };
    } catch {
      return null;
    }
  },
  readHead(path: string, maxBytes: number): Uint8Array | null {
    // Only a regular file is read: a FIFO named on an execve line would block the open (and a read would
    // consume another process's data), a device could have side effects. stat() first, then open without
    // blocking and check that what was opened is still a regular file.
    let fd = -1;
    try {
      if (!fs.statSync(path).isFile()) return null;
      fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
      if (!fs.fstatSync(fd).isFile()) return null;
      const buf = new Uint8Array(maxBytes);
      const n = fs.readSync(fd, buf, 0, maxBytes, 0);
      return buf.subarray(0, n);
    } catch {
      return null;
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  },
};

/** What kind of file a mode says, for messages: 'a FIFO', 'a directory'... */
export function fileKind(mode: number): string {
  switch (mode & 0o170000) {
    case 0o100000: return 'a regular file';
    case 0o040000: return 'a directory';
    case 0o010000: return 'a FIFO';
    case 0o020000: return 'a character device';
    case 0o060000: return 'a block device';
    case 0o140000: return 'a socket';
    case 0o120000: return 'a symbolic link';
    default: return 'not a regular file';
  }
}

/** A host with no files: every file named in a log is created in the model. */
export const emptyHost: HostFs = {
  stat: () => null,
  readHead: () => null,
};
