/**
 * Tasks and thread groups (include/linux/sched.h): a process is a thread
 * group sharing one mm and one descriptor table; each thread has its own
 * fault counters, summed by getrusage(RUSAGE_SELF).
 */
import type { FdTable } from './fs/file.js';
import type { MmStruct } from './mm/mm-struct.js';

export class Task {
  readonly tid: number;
  readonly process: Process;
  /** min_flt, maj_flt */
  minFlt = 0;
  majFlt = 0;
  exited = false;

  constructor(tid: number, process: Process) {
    this.tid = tid;
    this.process = process;
  }

  get mm(): MmStruct {
    return this.process.mm;
  }
}

export class Process {
  /** The thread-group id: the pid users see. */
  readonly tgid: number;
  mm: MmStruct;
  files: FdTable;
  readonly threads: Task[] = [];
  cwd = '/';
  comm = 'mmsim';
  exited = false;
  exitCode: number | null = null;
  /** Fault counts of threads that have exited (added into getrusage). */
  deadMinFlt = 0;
  deadMajFlt = 0;
  parent: Process | null = null;

  constructor(tgid: number, mm: MmStruct, files: FdTable) {
    this.tgid = tgid;
    this.mm = mm;
    this.files = files;
  }

  /** getrusage(RUSAGE_SELF): ru_minflt and ru_majflt over all threads. */
  rusage(): { minFlt: number; majFlt: number } {
    let minFlt = this.deadMinFlt;
    let majFlt = this.deadMajFlt;
    for (const t of this.threads) {
      minFlt += t.minFlt;
      majFlt += t.majFlt;
    }
    return { minFlt, majFlt };
  }
}
