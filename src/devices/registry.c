/*
 * registry.c: the table of device classes (device_class_find, device_classes).
 * Owns only the list; each class lives in its own file.
 */
#include <string.h>

#include "devices/classes.h"
#include "devices/device.h"

static const struct device_class *const device_table[] = {
    &device_scanner, &device_msr,     &device_pinpad,      &device_icreader,
    &device_scale,   &device_drawer,  &device_changer,     &device_printer,
    &device_linedisplay, &device_custdisplay, &device_keyboard, &device_sigpad,
    NULL,
};

const struct device_class *device_class_find(const char *kind)
{
    if (kind == NULL)
        return NULL;
    for (size_t i = 0; device_table[i] != NULL; i++)
        if (strcmp(device_table[i]->kind, kind) == 0)
            return device_table[i];
    return NULL;
}

const struct device_class *const *device_classes(void)
{
    return device_table;
}
