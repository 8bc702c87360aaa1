/**
 * Global event counters in the style of /proc/vmstat (mm/vmstat.c:vmstat_text).
 * pgpgin/pgpgout count kilobytes, as the kernel's do.
 */
export class VmStat {
  pgfault = 0;
  pgmajfault = 0;
  pgpgin = 0;
  pgpgout = 0;
  pgalloc = 0;
  pgfree = 0;
  pgactivate = 0;
  pgreuse = 0;
  cowFaults = 0;
  nrTlbLocalFlushAll = 0;
  nrTlbLocalFlushOne = 0;
  thpFaultAlloc = 0;
  thpSplitPmd = 0;
  thpFaultFallback = 0;
  /** Pages read by readahead beyond the one a fault or read needed. */
  readaheadPages = 0;
  /** Pages mapped by fault-around without a fault of their own. */
  faultAroundPages = 0;
}
