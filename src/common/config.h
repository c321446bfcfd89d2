/*
 * config: INI configuration (inih) with file:line in every error.
 *
 * A config is built from embedded defaults (text) and then a file that
 * overrides them; each value remembers where it came from, so a bad value is
 * reported as "terminald.ini:12: bus.heartbeat_ms: 99999999 out of range
 * [100, 60000]". Getters are typed, take a default and (for numbers) limits.
 */
#ifndef MAMORI_CONFIG_H
#define MAMORI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_ENTRIES 1024 /* section.key pairs in one config */
#define CONFIG_MAX_VALUE   1024 /* bytes in one value */
#define CONFIG_MAX_FILE    (1u << 20)
#define CONFIG_ERR_LEN     256

struct config;

int config_new(struct config **ret);
void config_free(struct config *c);

/* Parse INI text (name is used in errors, e.g. "<defaults>"); later values
 * override earlier ones. MAMORI_ERR_CONFIG with config_error() set on error. */
int config_parse_string(struct config *c, const char *name, const char *text);
/* Parse a file (at most CONFIG_MAX_FILE bytes). MAMORI_ERR_IO if unreadable. */
int config_parse_file(struct config *c, const char *path);

/* The last error text ("file:line: what"), "" if none. */
const char *config_error(const struct config *c);

/* The value of section.key, or def when absent (borrowed; valid until free). */
const char *config_get_str(const struct config *c, const char *section, const char *key,
                           const char *def);
/* Integer in [min, max]; def when absent. MAMORI_ERR_CONFIG (error text set)
 * when present but malformed or out of range; *ret untouched then. */
int config_get_int(struct config *c, const char *section, const char *key, int64_t def, int64_t min,
                   int64_t max, int64_t *ret);
/* true/false/yes/no/on/off/1/0. */
int config_get_bool(struct config *c, const char *section, const char *key, bool def, bool *ret);
/* Where section.key was set ("file:line"), or NULL. */
const char *config_where(const struct config *c, const char *section, const char *key);

#endif
