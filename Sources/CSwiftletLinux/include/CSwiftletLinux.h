#ifndef C_SWIFTLET_LINUX_H
#define C_SWIFTLET_LINUX_H

#include <stdint.h>

/// Enters the namespace referred to by `fd` (see setns(2)). Returns 0 or -1 with errno set.
int cswiftlet_setns(int fd, int nstype);

/// Disassociates parts of the calling thread's execution context (see unshare(2)).
int cswiftlet_unshare(int flags);

/// The CLONE_NEWNET flag value.
int cswiftlet_clone_newnet(void);

/// On the calling thread: enters the network namespace `nsfd`, opens a TCP socket there, returns
/// to the namespace `homefd`, and connects the socket to 127.0.0.1:`port` (waiting at most
/// `timeout_ms` for the handshake). Returns the connected socket (non-blocking, close-on-exec,
/// TCP_NODELAY) or -errno. Aborts the process if it cannot return to `homefd`, since a thread
/// left in a function's namespace would be a security hole.
int cswiftlet_connect_loopback_in_netns(int nsfd, int homefd, uint16_t port, int timeout_ms);

/// On the calling thread: enters `nsfd`, sets the loopback interface up, returns to `homefd`.
/// Returns 0 or -errno.
int cswiftlet_loopback_up_in_netns(int nsfd, int homefd);

/// On the calling thread: creates a new network namespace, binds it at `path` (an existing empty
/// file) so it outlives the thread's stay, sets its loopback interface up, and returns to the
/// namespace `homefd`. Returns 0 or -errno. Aborts the process if it cannot return to `homefd`.
int cswiftlet_netns_create(const char *path, int homefd);

/// Creates a close-on-exec pipe (see pipe2(2)). Returns 0 or -1 with errno set.
int cswiftlet_pipe_cloexec(int fds[2]);

/// Mounts an overlay of `lower` (read-only) and `upper`/`work` at `target` (nosuid, nodev).
/// Returns 0 or -errno.
int cswiftlet_mount_overlay(const char *lower, const char *upper, const char *work, const char *target);

/// Detaches the mount at `target` (umount2 with MNT_DETACH). Returns 0 or -errno.
int cswiftlet_unmount(const char *target);

/// Turns the directory `path` into a mount point of its own with shared propagation, so mounts
/// made below it later also appear in containers that bound it with `rslave`. Returns 0 or -errno.
int cswiftlet_make_propagation_hub(const char *path);

/// Binds `source` read-only (nosuid, nodev) at `target` by way of the empty directory `staging`,
/// so the mount is read-only from the moment it exists (also in every mount namespace it
/// propagates to). `staging` is unmounted again. Returns 0 or -errno.
int cswiftlet_bind_readonly(const char *source, const char *staging, const char *target);

/// Mounts a tmpfs at `target` (nosuid, nodev, noexec) with `options` like "size=1m,mode=0500".
/// Returns 0 or -errno.
int cswiftlet_mount_tmpfs(const char *target, const char *options);

/// Starts `path` with `argv` (NULL-terminated) and this process' environment; `in`, `out` and
/// `err` become its fds 0, 1 and 2 and every other descriptor is closed in the child (so a
/// daemon it leaves behind holds none of ours). Stores the child's pid. Returns 0 or -errno.
int cswiftlet_spawn(const char *path, char *const argv[], int in, int out, int err, int *pid);

/// Waits for the child `pid` to end. Returns its exit status, 128 + the signal that killed
/// it, or -errno.
int cswiftlet_wait(int pid);

/// A descriptor of a new user namespace whose ids 0..size-1 map to host ids hostid..: made
/// by a short-lived child, for idmapped mounts. Returns the descriptor or -errno.
int cswiftlet_userns_fd(uint32_t hostid, uint32_t size);

/// Mounts a read-only (nosuid, nodev) view of the directory `source` at `target` whose file
/// owners are mapped through the user namespace `usernsfd` (an idmapped mount: owner k on
/// disk shows as that namespace's host id of k). Returns 0 or -errno.
int cswiftlet_mount_idmapped(const char *source, const char *target, int usernsfd);

#endif
