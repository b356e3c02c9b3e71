#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <unistd.h>
#include "CSwiftletLinux.h"

int cswiftlet_setns(int fd, int nstype) { return setns(fd, nstype); }

int cswiftlet_unshare(int flags) { return unshare(flags); }

int cswiftlet_clone_newnet(void) { return CLONE_NEWNET; }

static void return_home(int homefd) {
    if (setns(homefd, CLONE_NEWNET) != 0) {
        abort();
    }
}

int cswiftlet_connect_loopback_in_netns(int nsfd, int homefd, uint16_t port, int timeout_ms) {
    if (setns(nsfd, CLONE_NEWNET) != 0) {
        return -errno;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int saved = errno;
    return_home(homefd);
    if (fd < 0) {
        return -saved;
    }
    // The socket keeps the namespace it was created in; connecting needs no setns.
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        if (errno != EINPROGRESS) {
            saved = errno;
            close(fd);
            return -saved;
        }
        // A full listen backlog delays the handshake: wait a bounded time, never forever.
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int ready = poll(&pfd, 1, timeout_ms);
        if (ready <= 0) {
            saved = ready == 0 ? ETIMEDOUT : errno;
            close(fd);
            return -saved;
        }
        int error = 0;
        socklen_t length = sizeof(error);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
            saved = error != 0 ? error : errno;
            close(fd);
            return -saved;
        }
    }
    return fd;
}

int cswiftlet_loopback_up_in_netns(int nsfd, int homefd) {
    if (setns(nsfd, CLONE_NEWNET) != 0) {
        return -errno;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int saved = errno;
    return_home(homefd);
    if (fd < 0) {
        return -saved;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    int result = 0;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
        result = -errno;
    } else if (!(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
            result = -errno;
        }
    }
    close(fd);
    return result;
}

int cswiftlet_netns_create(const char *path, int homefd) {
    if (unshare(CLONE_NEWNET) != 0) {
        return -errno;
    }
    int result = 0;
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/task/%d/ns/net", (int)gettid());
    if (mount(self, path, NULL, MS_BIND, NULL) != 0) {
        result = -errno;
    } else {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            result = -errno;
        } else {
            struct ifreq ifr;
            memset(&ifr, 0, sizeof(ifr));
            strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
            if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
                result = -errno;
            } else {
                ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
                if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
                    result = -errno;
                }
            }
            close(fd);
        }
        if (result != 0) {
            umount2(path, MNT_DETACH);
        }
    }
    return_home(homefd);
    return result;
}

int cswiftlet_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cswiftlet_mount_overlay(const char *lower, const char *upper, const char *work, const char *target) {
    char options[4096];
    int n = snprintf(options, sizeof(options), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
    if (n < 0 || (size_t)n >= sizeof(options)) {
        return -ENAMETOOLONG;
    }
    if (mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV, options) != 0) {
        return -errno;
    }
    return 0;
}

int cswiftlet_unmount(const char *target) {
    if (umount2(target, MNT_DETACH) != 0) {
        return -errno;
    }
    return 0;
}

int cswiftlet_make_propagation_hub(const char *path) {
    if (mount(path, path, NULL, MS_BIND, NULL) != 0) {
        return -errno;
    }
    // Leave whatever peer group the parent mount has, then start a new one.
    if (mount(NULL, path, NULL, MS_PRIVATE, NULL) != 0 || mount(NULL, path, NULL, MS_SHARED, NULL) != 0) {
        int saved = errno;
        umount2(path, MNT_DETACH);
        return -saved;
    }
    return 0;
}

int cswiftlet_bind_readonly(const char *source, const char *staging, const char *target) {
    if (mount(source, staging, NULL, MS_BIND | MS_REC, NULL) != 0) {
        return -errno;
    }
    int result = 0;
    // Read-only before the bind that propagates: a propagated copy keeps the flags it had
    // when it was made, a later remount would not reach it.
    if (mount(NULL, staging, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0
        || mount(NULL, staging, NULL, MS_PRIVATE | MS_REC, NULL) != 0
        || mount(staging, target, NULL, MS_BIND | MS_REC, NULL) != 0) {
        result = -errno;
    }
    umount2(staging, MNT_DETACH);
    return result;
}

int cswiftlet_mount_tmpfs(const char *target, const char *options) {
    if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options) != 0) {
        return -errno;
    }
    return 0;
}

extern char **environ;

int cswiftlet_spawn(const char *path, char *const argv[], int in, int out, int err, int *pid) {
    posix_spawn_file_actions_t actions;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) {
        return -result;
    }
    int fds[3] = {in, out, err};
    for (int target = 0; target < 3 && result == 0; target++) {
        result = posix_spawn_file_actions_adddup2(&actions, fds[target], target);
    }
    if (result == 0) {
        result = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    }
    pid_t child = 0;
    if (result == 0) {
        result = posix_spawn(&child, path, &actions, NULL, argv, environ);
    }
    posix_spawn_file_actions_destroy(&actions);
    if (result != 0) {
        return -result;
    }
    *pid = child;
    return 0;
}

int cswiftlet_wait(int pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -errno;
        }
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return 128 + WTERMSIG(status);
}

int cswiftlet_userns_fd(uint32_t hostid, uint32_t size) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        return -errno;
    }
    // A child in a new user namespace that only waits for the pipe to close: async-signal-safe
    // calls only, as the parent is multithreaded.
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid < 0) {
        int saved = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return -saved;
    }
    if (pid == 0) {
        char byte;
        close(pipefd[1]);
        while (read(pipefd[0], &byte, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
    }
    close(pipefd[0]);
    int result = 0;
    char path[64];
    char map[64];
    int length = snprintf(map, sizeof(map), "0 %u %u\n", hostid, size);
    const char *files[2] = {"uid_map", "gid_map"};
    for (int i = 0; i < 2 && result == 0; i++) {
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, files[i]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            result = -errno;
            break;
        }
        if (write(fd, map, (size_t)length) != length) {
            result = -errno;
        }
        close(fd);
    }
    int nsfd = -1;
    if (result == 0) {
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
        nsfd = open(path, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0) {
            result = -errno;
        }
    }
    close(pipefd[1]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return result == 0 ? nsfd : result;
}

int cswiftlet_mount_idmapped(const char *source, const char *target, int usernsfd) {
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    struct mount_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_RDONLY;
    attr.userns_fd = (uint64_t)usernsfd;
    int result = 0;
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0) {
        result = -errno;
    } else if (syscall(SYS_move_mount, fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        result = -errno;
    }
    close(fd);
    return result;
}
