/**
 * mmsim/host-fs: the file-system backend over a folder of host files
 * (node:fs), kept apart from the main entry so browser bundles of mmsim do
 * not pull in node:fs.
 */
export { HostFolderBackend, hostFolder, type HostFolderOptions, type HostFolderStats } from './fs-host/host-folder.js';
export { FsBackendError, type FsBackend, type FsBackendEntry, type FsBackendErrorCode, type FsBackendStats } from './kernel/fs/backend.js';
