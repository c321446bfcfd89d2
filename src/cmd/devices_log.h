/*
 * devices_log: `mamori devices log SERIAL` (the body; option parsing is in
 * mamori_devices.c). Shows, exports and verifies the copy of a device's own
 * signed log that the terminal fetched (STATE/devlog.db), with the log key
 * of the device's manufacturer certificate from the registry.
 */
#ifndef MAMORI_DEVICES_LOG_H
#define MAMORI_DEVICES_LOG_H

#include <stdbool.h>

/* Exit code: 0 ok, 1 failure, 3 verification failed, 4 unknown device. */
int devices_log_run(const char *state, const char *serial, bool verify, const char *export_path, bool sync,
                    bool json);

#endif
