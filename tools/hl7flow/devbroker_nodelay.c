/* devbroker_nodelay.c - turns Nagle's algorithm off on the mock brokers'
 * connections.
 *
 * librdkafka 2.0.2's mock cluster leaves Nagle on for the sockets it
 * accepts. A client that waits for every reply before sending more (a
 * producer flush, a transaction commit) then meets the classic Nagle x
 * delayed-ACK stall: ~40 ms per round trip, measured as a constant 42 ms per
 * flushed batch whatever its size. The mock offers no hook for its sockets,
 * but it runs inside the dev broker's process, so the dev broker sweeps its
 * own descriptors and sets TCP_NODELAY on every TCP socket. Real brokers set
 * it themselves (socket.nagle.disable is the client-side twin). */
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "devbroker_nodelay.h"

int devbroker_nodelay_sweep(void) {
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int changed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        int fd = atoi(e->d_name);
        struct stat st;
        if (fd == dirfd(d) || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
            continue;
        int type = 0, proto = 0, on = 0;
        socklen_t len = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
            continue;
        len = sizeof proto;
        if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0 || proto != IPPROTO_TCP)
            continue;
        len = sizeof on;
        if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0 && on)
            continue;
        on = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0)
            changed++;
    }
    closedir(d);
    return changed;
}
