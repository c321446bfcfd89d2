/*
 * classes: the device classes compiled into this tree (one file each),
 * collected by registry.c. Internal to src/devices.
 */
#ifndef MAMORI_DEVICES_CLASSES_H
#define MAMORI_DEVICES_CLASSES_H

#include "devices/device.h"

extern const struct device_class device_scanner;
extern const struct device_class device_msr;
extern const struct device_class device_pinpad;
extern const struct device_class device_icreader;
extern const struct device_class device_scale;
extern const struct device_class device_drawer;
extern const struct device_class device_changer;
extern const struct device_class device_printer;
extern const struct device_class device_linedisplay;
extern const struct device_class device_custdisplay;
extern const struct device_class device_keyboard;
extern const struct device_class device_sigpad;
extern const struct device_class device_touchpanel;
extern const struct device_class device_keylock;

#endif
