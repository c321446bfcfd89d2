/* libFuzzer target: ISO/IEC 7813 track parsing (src/devices/track.c).
 * Input: TRACK1 '\n' TRACK2 (either may be empty = absent). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/track.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct track_card c;
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    (void)track_parse1((const char *)data, size, &c);
    (void)track_parse2((const char *)data, size, &c);
    char *nl = memchr(s, '\n', size);
    if (nl != NULL) {
        *nl = '\0';
        const char *t1 = s[0] ? s : NULL, *t2 = nl[1] ? nl + 1 : NULL;
        if (track_parse(t1, t2, &c) == 0) {
            char m[TRACK_PAN_MAX + 1];
            track_masked_pan(&c, m);
            track_wipe(&c);
        }
    }
    free(s);
    return 0;
}
