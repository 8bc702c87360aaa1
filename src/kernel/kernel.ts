/**
 * The machine-wide state every subsystem reaches: the architecture, the
 * tunables, physical memory, the block device, the page-cache and anon_vma
 * owners that frames point back to, global counters and the event stream.
 */
import type { ArchProfile } from './arch/profile.js';
import type { KernelEvent, KernelEventListener } from './events.js';
import type { Settings } from './settings.js';
import { BlockDevice } from './fs/blockdev.js';
import { Vfs } from './fs/vfs.js';
import type { AddressSpace } from './mm/filemap.js';
import { PhysMem } from './mm/page-alloc.js';
import { AnonVma } from './mm/rmap.js';
import { VmStat } from './vmstat.js';

export class Kernel {
  readonly arch: ArchProfile;
  readonly settings: Settings;
  readonly phys: PhysMem;
  readonly disk: BlockDevice;
  readonly vmstat = new VmStat();
  readonly vfs: Vfs;
  /** Frame owners by id: AddressSpace for file/shmem pages, AnonVma for anonymous ones. */
  readonly owners: (AddressSpace | AnonVma | undefined)[] = [undefined];
  private readonly listeners: KernelEventListener[] = [];
  /** True while someone listens: hot paths test it before building an event. */
  tracing = false;
  /** Pages charged against the commit limit (vm_committed_as). */
  committedPages = 0;

  constructor(arch: ArchProfile, settings: Settings) {
    this.arch = arch;
    this.settings = settings;
    this.phys = new PhysMem(arch.pageSize, Math.floor(settings.memTotal / arch.pageSize));
    // A virtio disk: major 254 (0xfe), minor 0, as `fe:00` in /proc/PID/maps.
    this.disk = new BlockDevice(0xfe, 0, arch.pageSize);
    this.vfs = new Vfs(this);
  }

  newOwnerId(owner: AddressSpace | AnonVma): number {
    this.owners.push(owner);
    return this.owners.length - 1;
  }

  newAnonVma(): AnonVma {
    const av = new AnonVma(this.owners.length);
    this.owners.push(av);
    return av;
  }

  subscribe(listener: KernelEventListener): () => void {
    this.listeners.push(listener);
    this.tracing = true;
    this.phys.onFree = this.emitPageFree;
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
      this.tracing = this.listeners.length > 0;
      if (!this.tracing) this.phys.onFree = null;
    };
  }

  /** free_unref_page()'s trace_mm_page_free(): PhysMem has no event stream of its own. */
  private readonly emitPageFree = (pfn: number): void => {
    this.emit({ type: 'page_free', pfn });
  };

  emit(event: KernelEvent): void {
    for (const l of this.listeners) l(event);
  }
}
