/*
 * printer: the receipt printer's protocol limit, shared by its firmware
 * (printer.c) and the register's driver for it (src/pos/busdev.c), which
 * splits a longer receipt into jobs of at most this size.
 */
#ifndef MAMORI_DEVICES_PRINTER_H
#define MAMORI_DEVICES_PRINTER_H

/* Bytes in one printer.print: the bus limit on one byte string
 * (MSG_MAX_STRING, src/bus/msg.h; docs/protocol.md §5.3). */
#define PRINTER_JOB_MAX (32u * 1024)

#endif
