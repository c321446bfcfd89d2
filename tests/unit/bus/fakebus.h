/*
 * fakebus: a test double for the bus.h functions the device API uses
 * (bus_on_event, bus_on_attach, bus_call, bus_request, bus_devices). Requests
 * go to real device firmware (src/devices) in a temporary directory, events
 * the firmware emits go to the subscribed callback, and devices can be
 * unplugged and replugged. No sessions, no sockets.
 */
#ifndef MAMORI_FAKEBUS_H
#define MAMORI_FAKEBUS_H

#include "testutil.h"

#include <stdbool.h>

#include "bus/bus.h"
#include "devices/device.h"

#define FAKE_N 8 /* scanner SCN-0001, scale SCL-0001, printer PRT-0001, drawer DRW-0001,
                  changer CHG-0001, linedisplay LDP-0001, touchpanel TCH-0001,
                  keylock KLK-0001 */

struct fake_dev {
    const char *serial, *kind;
    bool attached;
    const struct device_class *cls;
    void *st;
};

struct fake {
    char *dir;
    bus_event_fn ev;
    void *ev_ctx;
    bus_attach_fn at;
    void *at_ctx;
    struct fake_dev d[FAKE_N];
    int calls;
    bool defer; /* bus_request answers only at fake_flush() */
    int lose;   /* bus_call: execute the next N requests, then answer MAMORI_ERR_TIMEOUT */
    int ndeferred;
    struct {
        char serial[32], type[48];
        cbor_item_t *body;
        bus_reply_fn cb;
        void *ctx;
    } deferred[8];
};

extern struct fake F;

/* cmocka setup/teardown: the FAKE_N devices, attached. */
int fake_setup(void **state);
int fake_teardown(void **state);
/* Answer the requests held while F.defer was set. */
void fake_flush(void);
/* Attach or detach a device (calls the attach callback). */
void fake_plug(const char *serial, bool attached);
/* A control command ("scan 4901234567894") to a device's firmware. */
int fake_ctl(const char *serial, const char *line);

#endif
