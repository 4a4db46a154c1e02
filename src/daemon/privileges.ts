// Started as root, imaged binds its port and then becomes the service user
// ([imaged] service_uid/service_gid), as nginx or sshd do: everything it
// writes afterwards (catalog, staging, cache, image files) is owned by the uid
// the unit runs it as, so a later start under the unit still can use it.

export interface ServiceIds {
  uid: number;
  gid: number;
}

/** Whether a process with this euid switches to `ids` after binding. service_uid = 0 keeps root. */
export function willDropTo(ids: ServiceIds, euid = process.geteuid?.() ?? -1): boolean {
  return euid === 0 && ids.uid !== 0;
}

/**
 * Becomes `ids` for good. Supplementary groups are the service user's from /etc/group when it has a passwd
 * entry (as nginx's initgroups: e.g. membership of glance to read ceph keyrings), else just the service gid.
 * glibc applies setuid to every thread of the process, so threads started earlier do not keep root.
 */
export function dropPrivileges(ids: ServiceIds): void {
  try {
    // in Node (POSIX) since 0.9, missing from @types/node
    (process as unknown as { initgroups(user: number, group: number): void }).initgroups(ids.uid, ids.gid);
  } catch {
    process.setgroups!([ids.gid]); // no passwd entry for the uid
  }
  process.setgid!(ids.gid);
  process.setuid!(ids.uid);
  if (process.geteuid!() !== ids.uid || process.getegid!() !== ids.gid) {
    throw new Error(`could not switch to the service uid ${ids.uid} / gid ${ids.gid}`);
  }
}
