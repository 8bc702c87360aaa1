/**
 * /proc/diskstats (block/genhd.c diskstats_show()) for the model's one disk:
 * requests, sectors and the milliseconds the latency model charged, in
 * Linux's field order. The disk serves one request at a time and never
 * merges, queues, discards or flushes, so those fields stay 0 and
 * io_ticks equals the time spent reading plus writing.
 */
import type { Kernel } from '../kernel.js';

/** The disk's name in /proc/diskstats: a virtio disk, major 254. */
export const DISK_NAME = 'vda';

export function renderDiskstats(k: Kernel): string {
  const d = k.disk;
  const s = d.stats;
  const ms = (ns: number): number => Math.floor(ns / 1_000_000);
  const fields = [
    s.readRequests, 0, s.readSectors, ms(s.readNs),
    s.writeRequests, 0, s.writeSectors, ms(s.writeNs),
    0, ms(s.busyNs), ms(s.readNs) + ms(s.writeNs),
    0, 0, 0, 0,
    0, 0,
  ];
  return `${String(d.major).padStart(4, ' ')} ${String(d.minor).padStart(7, ' ')} ${DISK_NAME} ${fields.join(' ')}\n`;
}
