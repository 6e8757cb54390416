/* stop.h - the process-wide "please stop" flag of the long-running loops
 * (stage loop, sink loop, dev broker), set by SIGTERM/SIGINT. */
#ifndef HL7FLOW_STOP_H
#define HL7FLOW_STOP_H

#include <stdbool.h>

/* Installs handlers: SIGTERM and SIGINT set the flag; SIGPIPE is ignored
 * (a closed socket is an error return, not a death). */
void hf_stop_on_signals(void);

/* Sets the flag (async-signal-safe). */
void hf_stop_request(void);

/* True once a stop was requested. */
bool hf_stop_requested(void);

#endif
