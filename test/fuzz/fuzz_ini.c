/* libFuzzer target: the INI loader (inih + our header scan), then the
 * schema on whatever tree it built. */
#include <stdint.h>
#include <stdlib.h>

#include "config/inifile.h"
#include "config/schema.h"
#include <cjson/cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ini_diags diags;
	struct cfg_node *root = NULL;
	struct config *cfg;
	struct config_errors errs = { 0 };
	int r = inifile_parse((const char *)data, size, &root, &diags);

	if ((r < 0) != (diags.n > 0))
		abort();  /* errors and the return value must agree */
	if (root != NULL) {
		cfg = calloc(1, sizeof(*cfg));
		if (cfg != NULL && schema_defaults(cfg) == 0) {
			schema_apply(root, "fuzz.ini", cfg, &errs);
			cJSON_Delete(schema_to_json(cfg));
		}
		if (cfg != NULL)
			schema_free_values(cfg);
		free(cfg);
	}
	config_errors_free(&errs);
	cfg_node_free(root);
	return 0;
}
