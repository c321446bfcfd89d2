/*
 * registry.c: the table of device classes (device_class_find, device_classes).
 * Owns only the list (and device_record, the NULL-safe call of the runner's
 * log hook); each class lives in its own file.
 */
#include <string.h>

#include "devices/classes.h"
#include "devices/device.h"
#include "devices/devbody.h"
#include "mamori/err.h"

static const struct device_class *const device_table[] = {
    &device_scanner, &device_msr,     &device_pinpad,      &device_icreader,
    &device_scale,   &device_drawer,  &device_changer,     &device_printer,
    &device_linedisplay, &device_custdisplay, &device_keyboard, &device_sigpad,
    &device_touchpanel, &device_keylock,
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

int device_record(const struct device_io *io, const char *event, cbor_item_t *details)
{
    if (io == NULL || io->record == NULL) {
        if (details != NULL)
            cbor_decref(&details);
        return 0;
    }
    return io->record(io->ctx, event, details);
}

int device_record_str(const struct device_io *io, const char *event, const char *key, const char *value)
{
    cbor_item_t *m = devbody_new();
    if (m == NULL || (key != NULL && devbody_put_str(m, key, value != NULL ? value : ""))) {
        if (m != NULL)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    return device_record(io, event, m);
}
