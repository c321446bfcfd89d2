/* libFuzzer target: the touch panel's layout text (touchlayout_parse, DEV-10):
 * a store's layout.txt is outside bytes. Checks the invariants of a parsed
 * layout: every button on the grid, ids and labels bounded, one per cell,
 * and every button hit at its own middle. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/touchlayout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct touchlayout l;
    if (touchlayout_parse(data, size, &l, NULL) != 0)
        return 0;
    if (l.n == 0 || l.n > TOUCHLAYOUT_BUTTONS_MAX)
        abort();
    for (size_t i = 0; i < l.n; i++) {
        const struct touchlayout_button *b = &l.b[i];
        int x, y, w, h;
        if (b->col < 0 || b->col >= TOUCHLAYOUT_COLS || b->row < 0 || b->row >= TOUCHLAYOUT_ROWS ||
            strnlen(b->id, sizeof(b->id)) == sizeof(b->id) || b->id[0] == '\0' ||
            strnlen(b->label, sizeof(b->label)) == sizeof(b->label) || b->label[0] == '\0')
            abort();
        touchlayout_rect(b, &x, &y, &w, &h);
        if (touchlayout_hit(&l, x + w / 2, y + h / 2) != b || touchlayout_find(&l, b->id) != b)
            abort();
    }
    return 0;
}
