/* model_info.c - wn_model_print_info for `weldnet info`: the header of a loaded model (format
 * version and file size read from the file, input and normalisation, classes with training counts
 * and shares, metadata, calibration and other extra records, the network INI text and the tensor
 * list with the total parameter count). Tensor values are not printed. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_internal.h"

/* Prints text line by line, each line indented; no output for NULL or empty text. */
static void print_indented(FILE *f, const char *text, const char *indent) {
    if (!text) return;
    while (*text) {
        size_t n = strcspn(text, "\n");
        size_t k = n;
        if (k > 0 && text[k - 1] == '\r') k--;
        fprintf(f, "%s%.*s\n", k ? indent : "", (int)k, text);
        text += n;
        if (*text == '\n') text++;
    }
}

/* Characters shown for a UTF-8 string (continuation bytes do not count). */
static int text_width(const char *s) {
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* Prints s left-aligned in a field of `width` characters. */
static void print_padded(FILE *f, const char *s, int width) {
    fputs(s, f);
    for (int k = text_width(s); k < width; k++) fputc(' ', f);
}

static void print_size(FILE *f, const char *label, unsigned long long n) {
    if (n >= (1ull << 20))
        fprintf(f, "%s%llu bytes (%.1f MiB)\n", label, n, n / 1048576.0);
    else if (n >= 1024)
        fprintf(f, "%s%llu bytes (%.1f KiB)\n", label, n, n / 1024.0);
    else
        fprintf(f, "%s%llu bytes\n", label, n);
}

/* Format version and size of the file on disk ("unknown" when it cannot be read now). */
static void print_file(FILE *f, const char *path) {
    FILE *in = path ? fopen(path, "rb") : NULL;
    uint8_t head[12];
    if (in && fread(head, 1, sizeof head, in) == sizeof head)
        fprintf(f, "format version: %u (this weldnet reads up to %d)\n", wn_get_u32(head + 8),
                WN_MODEL_VERSION);
    else
        fprintf(f, "format version: unknown\n");
    if (in) fclose(in);
    struct stat st;
    if (path && stat(path, &st) == 0)
        print_size(f, "file size: ", (unsigned long long)st.st_size);
    else
        fprintf(f, "file size: unknown\n");
}

static void print_classes(FILE *f, const wn_model *m) {
    long total = 0;
    int width = 4;
    if (!m->class_names || !m->class_counts) {
        fprintf(f, "classes: none\n");
        return;
    }
    for (int j = 0; j < m->n_classes; j++) {
        total += m->class_counts[j];
        int n = text_width(m->class_names[j]);
        if (n > width) width = n < 40 ? n : 40;
    }
    fprintf(f, "classes: %d\n", m->n_classes);
    for (int j = 0; j < m->n_classes; j++) {
        fputs("  ", f);
        print_padded(f, m->class_names[j], width);
        fprintf(f, " %10ld", m->class_counts[j]);
        if (total > 0)
            fprintf(f, "  %6.2f%%\n", 100.0 * (double)m->class_counts[j] / (double)total);
        else
            fprintf(f, "       -\n");
    }
    fprintf(f, "total photos: %ld\n", total);
}

static void print_extra(FILE *f, const wn_model *m) {
    const wn_record *cal = wn_model_get_record(m, WN_TAG_CALB);
    if (cal) {
        fprintf(f, "calibration: calibrated\n");
        char *text = wn_xmalloc(cal->len + 1);
        memcpy(text, cal->data, cal->len);
        text[cal->len] = '\0';
        print_indented(f, text, "  ");
        free(text);
    } else
        fprintf(f, "calibration: not calibrated\n");
    int others = 0;
    for (int i = 0; i < m->n_extra; i++) others += m->extra[i].tag != WN_TAG_CALB;
    if (!others) return;
    fprintf(f, "other records: %d\n", others);
    for (int i = 0; i < m->n_extra; i++) {
        char tb[16];
        if (m->extra[i].tag == WN_TAG_CALB) continue;
        fprintf(f, "  '%s': %zu bytes\n", wn_tag_text(m->extra[i].tag, tb), m->extra[i].len);
    }
}

static void print_tensors(FILE *f, const wn_model *m) {
    int width = 4;
    unsigned long long total = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        int n = text_width(m->tensors[i].name);
        if (n > width) width = n < 48 ? n : 48;
    }
    fprintf(f, "tensors: %d\n", m->n_tensors);
    for (int i = 0; i < m->n_tensors; i++) {
        const wn_named_tensor *t = &m->tensors[i];
        char shape[64];
        size_t k = 0;
        shape[0] = '\0';
        for (int d = 0; d < t->ndim && k < sizeof shape; d++)
            k += (size_t)snprintf(shape + k, sizeof shape - k, d ? " x %d" : "%d", t->dims[d]);
        unsigned long long n = (unsigned long long)wn_tensor_elems(t);
        total += n;
        fputs("  ", f);
        print_padded(f, t->name, width);
        fprintf(f, "  %-20s %12llu\n", shape, n);
    }
    fprintf(f, "total parameters: %llu\n", total);
}

void wn_model_print_info(const wn_model *m, const char *path, FILE *f) {
    fprintf(f, "model: %s\n", path ? path : "(in memory)");
    print_file(f, path);
    fprintf(f, "input: %d x %d x %d (C x H x W)\n", m->in_c, m->in_h, m->in_w);
    int nc = m->in_c >= 1 && m->in_c <= 3 ? m->in_c : 3;
    fprintf(f, "mean:");
    for (int c = 0; c < nc; c++) fprintf(f, " %.6g", m->mean[c]);
    fprintf(f, "\nstd: ");
    for (int c = 0; c < nc; c++) fprintf(f, " %.6g", m->std[c]);
    fprintf(f, "\n");
    print_classes(f, m);
    if (m->meta && *m->meta) {
        fprintf(f, "metadata:\n");
        print_indented(f, m->meta, "  ");
    } else {
        fprintf(f, "metadata: none\n");
    }
    print_extra(f, m);
    fprintf(f, "network:\n");
    print_indented(f, m->net_ini, "  ");
    print_tensors(f, m);
}
