/* libFuzzer target: the strict YAML parser, then the schema on its tree.
 * Any byte sequence must give a tree or an error, never a crash or leak. */
#include <stdint.h>
#include <stdlib.h>

#include "config/schema.h"
#include "config/yaml.h"
#include <cjson/cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_node *root = NULL;
	struct cfg_diag d;
	struct config *cfg;
	struct config_errors errs = { 0 };

	if (yaml_parse((const char *)data, size, &root, &d) < 0) {
		if (root != NULL || d.msg[0] == '\0')
			abort();  /* an error must leave no tree and say something */
		return 0;
	}
	if (root == NULL || root->kind != CFG_MAP)
		abort();
	cfg = calloc(1, sizeof(*cfg));
	if (cfg != NULL && schema_defaults(cfg) == 0) {
		schema_apply(root, "fuzz.yaml", cfg, &errs);
		cJSON_Delete(schema_to_json(cfg));
	}
	if (cfg != NULL)
		schema_free_values(cfg);
	free(cfg);
	config_errors_free(&errs);
	cfg_node_free(root);
	return 0;
}
