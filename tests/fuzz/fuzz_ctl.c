/* libFuzzer: control-socket line splitting (src/bus/ctl.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[CTL_ARGS_MAX];
    int argc = 0;
    char *line;
    if (size > CTL_LINE_MAX)
        return 0;
    line = malloc(size + 1);
    if (line == NULL)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    if (ctl_split(line, argv, CTL_ARGS_MAX, &argc) == 0)
        for (int i = 0; i < argc; i++)
            if (argv[i] < line || argv[i] > line + size || strlen(argv[i]) > size)
                __builtin_trap();
    free(line);
    return 0;
}
