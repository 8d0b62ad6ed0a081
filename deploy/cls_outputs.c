/* cls_outputs.c - the output files of classify and merge (report, summary, misses) checked
 * before anything is written: none may be a photo, a model or a training state, the same file as
 * another output, or one of the run's inputs (models, labels manifest, shard reports). */
#include "wn_classify.h"
#include "wn_outguard.h"

int wn_cls_outputs_check(const char *report, const char *summary, const char *misses,
                         const char *const *inputs, const char *const *input_what, int n_inputs,
                         wn_err *e) {
    const char *out[3] = {report, summary, misses};
    const char *what[3] = {"the report", "the summary", "the list of missed defects"};
    for (int i = 0; i < 3; i++) {
        if (!out[i]) continue;
        int rc = wn_outguard_check(out[i], what[i], 0, e);
        for (int j = 0; j < i && rc == WN_OK; j++)
            rc = wn_outguard_distinct(out[i], what[i], out[j], what[j], e);
        for (int j = 0; j < n_inputs && rc == WN_OK; j++)
            rc = wn_outguard_distinct(out[i], what[i], inputs[j], input_what[j], e);
        if (rc) return rc;
    }
    return WN_OK;
}
