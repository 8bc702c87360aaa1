/**
 * Whether the kernel was built with transparent huge pages
 * (IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE)): the setting, else the profile's
 * kernel. A build-time switch, unlike the run-time mode (settings.thpEnabled).
 */
import type { Kernel } from '../kernel.js';

/** IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) */
export function thpConfigured(k: Kernel): boolean {
  return k.settings.transparentHugepage ?? k.arch.transparentHugepage;
}
