/**
 * vm_flags bits (include/linux/mm.h) and their smaps mnemonics
 * (fs/proc/task_mmu.c:show_smap_vma_flags(), which prints them in bit order).
 * Bit 31 (VM_MERGEABLE) makes the value negative as an int32: test bits with
 * `(flags & VM_X) !== 0`, never with a comparison.
 */
export const VM_NONE = 0;
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_UFFD_MISSING = 0x200;
export const VM_PFNMAP = 0x400;
export const VM_UFFD_WP = 0x1000;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
export const VM_SEQ_READ = 0x8000;
export const VM_RAND_READ = 0x10000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_LOCKONFAULT = 0x80000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
export const VM_HUGETLB = 0x400000;
export const VM_SYNC = 0x800000;
export const VM_ARCH_1 = 0x1000000;
export const VM_WIPEONFORK = 0x2000000;
export const VM_DONTDUMP = 0x4000000;
export const VM_SOFTDIRTY = 0x8000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
export const VM_MERGEABLE = 0x80000000 | 0;
/**
 * VM_PKEY_BIT0: the VMA's protection key is 1, the execute-only key
 * (x86 with PKU). Linux keeps pkey bits in VM_HIGH_ARCH_0.. (bit 32 up); the
 * model's flags are 32-bit, so it uses the unused bit 11 (once VM_DENYWRITE),
 * which smaps prints as nothing, as it prints the pkey bits. Only keys 0 and
 * 1 exist here: there is no pkey_alloc().
 */
export const VM_PKEY_BIT0 = 0x800;

export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
export const VM_STACK = VM_GROWSDOWN;
/** VM_DATA_DEFAULT_FLAGS: VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC (VM_EXEC only with READ_IMPLIES_EXEC). */
export const VM_DATA_DEFAULT_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
export const VM_STACK_DEFAULT_FLAGS = VM_DATA_DEFAULT_FLAGS;
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;
/** Flags whose difference does not stop two VMAs merging (VM_IGNORE_MERGE). */
export const VM_IGNORE_MERGE = VM_SOFTDIRTY;
/** VMAs with these flags carry a guard gap below them (VM_STARTGAP_FLAGS). */
export const VM_STARTGAP_FLAGS = VM_GROWSDOWN;

/** show_smap_vma_flags(): mnemonic per bit index; '' where the kernel prints nothing. */
const MNEMONICS: readonly string[] = [
  'rd', 'wr', 'ex', 'sh', 'mr', 'mw', 'me', 'ms', 'gd', 'um', 'pf', '', 'uw', 'lo', 'io', 'sr',
  'rr', 'dc', 'de', 'lf', 'ac', 'nr', 'ht', 'sf', 'ar', 'wf', 'dd', 'sd', 'mm', 'hg', 'nh', 'mg',
];

export function vmFlagsMnemonics(flags: number): string {
  let out = '';
  for (let bit = 0; bit < 32; bit++) {
    const m = MNEMONICS[bit]!;
    if (m !== '' && (flags & (1 << bit)) !== 0) out += m + ' ';
  }
  return out;
}

/** calc_vm_prot_bits(): PROT_* to VM_* (PROT_READ/WRITE/EXEC share the low bits). */
export function calcVmProtBits(prot: number): number {
  return prot & (VM_READ | VM_WRITE | VM_EXEC);
}
