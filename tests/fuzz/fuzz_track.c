/* libFuzzer target: magnetic stripe track parsing (src/devices/track.c). */
#include <stddef.h>
#include <stdint.h>

#include "devices/track.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct track_data t;
    if (track_parse(data, size, &t) == 0)
        track_data_wipe(&t);
    (void)track1_parse(data, size, &t);
    (void)track2_parse(data, size, &t);
    return 0;
}
