/* devbroker_nodelay.h - see devbroker_nodelay.c. */
#ifndef HL7FLOW_DEVBROKER_NODELAY_H
#define HL7FLOW_DEVBROKER_NODELAY_H

/* Sets TCP_NODELAY on every TCP socket of this process that lacks it.
 * Returns how many sockets changed, or -1 if /proc/self/fd is unreadable.
 * Cheap enough to call every few milliseconds. */
int devbroker_nodelay_sweep(void);

#endif
