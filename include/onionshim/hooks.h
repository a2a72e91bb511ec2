/*
 * hooks - what the libc-facing entry points (lib/hook_*.c) share: the one
 * process-wide context, initialised by the constructor or by the first
 * hook that runs before it.
 */
#ifndef ONIONSHIM_HOOKS_H
#define ONIONSHIM_HOOKS_H

#include "onionshim/shim.h"

#define ONIONSHIM_EXPORT __attribute__((visibility("default")))

/*
 * onionshim_ready - the context, after making sure that initialisation ran
 * (once; cheap afterwards). Never NULL.
 */
struct onionshim_ctx *onionshim_ready(void);

#endif
