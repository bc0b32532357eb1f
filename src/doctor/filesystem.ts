/**
 * Which file systems put the project lock at risk, and finding the file system of a path in
 * `/proc/mounts` (Linux).
 *
 * @module
 */

/**
 * Why a file system type is a risk for the lock, or null when it is local. The lock is a file created
 * with O_EXCL holding a pid and host: network file systems may not make that create atomic across hosts,
 * and a pid from another host cannot be checked.
 *
 * @example
 * ```ts
 * fileSystemRisk("nfs4"); // "a network file system: ..."
 * fileSystemRisk("ext4"); // null
 * ```
 */
export function fileSystemRisk(type: string): string | null {
  const t = type.toLowerCase();
  if (
    /^(nfs\d?|cifs|smb\d?|smbfs|ncpfs|afs|9p|ceph|glusterfs|lustre|gpfs|beegfs|davfs|fuse\.(sshfs|s3fs|rclone|gcsfuse|davfs2?))$/
      .test(t)
  ) {
    return "a network file system: an exclusive create may not be atomic across machines, and a lock held " +
      "from another machine cannot be checked";
  }
  if (t === "vboxsf" || t === "prl_fs" || t === "vmhgfs" || t === "fuse.vmhgfs-fuse" || t === "virtiofs") {
    return "a folder shared with a virtual machine's host: locks may not be seen on the other side";
  }
  return null;
}

/** Undoes the octal escapes of /proc/mounts (`\040` is a space). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * The mount holding `path` (absolute, symlinks resolved): the longest mount point that contains it.
 *
 * @example
 * ```ts
 * mountOf("/dev/sda1 / ext4 rw 0 0\nserver:/x /home nfs4 rw 0 0\n", "/home/me"); // { type: "nfs4", mountPoint: "/home" }
 * ```
 */
export function mountOf(procMounts: string, path: string): { type: string; mountPoint: string } | null {
  let best: { type: string; mountPoint: string } | null = null;
  for (const line of procMounts.split("\n")) {
    const f = line.split(" ");
    if (f.length < 3) continue;
    const mountPoint = unescapeMount(f[1]);
    const inside = mountPoint === "/" || path === mountPoint || path.startsWith(mountPoint + "/");
    // A later line for the same point is mounted over the earlier one: >= keeps the last.
    if (inside && (!best || mountPoint.length >= best.mountPoint.length)) best = { type: f[2], mountPoint };
  }
  return best;
}
