/* see tree.h */
#include "config/tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cfg_node *
cfg_node_new(enum cfg_kind kind, int line, const char *key, const char *value)
{
	struct cfg_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->line = line;
	if (key != NULL && (n->key = strdup(key)) == NULL)
		goto fail;
	if (kind == CFG_SCALAR && (n->value = strdup(value ? value : "")) == NULL)
		goto fail;
	return n;
fail:
	cfg_node_free(n);
	return NULL;
}

int
cfg_node_add(struct cfg_node *parent, struct cfg_node *kid)
{
	if (parent->n >= CFG_MAX_ENTRIES)
		return -E2BIG;
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct cfg_node **v = realloc(parent->kids, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		parent->kids = v;
		parent->cap = cap;
	}
	parent->kids[parent->n++] = kid;
	return 0;
}

struct cfg_node *
cfg_node_get(const struct cfg_node *map, const char *key)
{
	size_t i;

	if (map == NULL || map->kind != CFG_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (map->kids[i]->key != NULL && strcmp(map->kids[i]->key, key) == 0)
			return map->kids[i];
	return NULL;
}

void
cfg_node_remove(struct cfg_node *map, const char *key)
{
	size_t i;

	for (i = 0; map != NULL && i < map->n; i++) {
		if (map->kids[i]->key != NULL && strcmp(map->kids[i]->key, key) == 0) {
			cfg_node_free(map->kids[i]);
			memmove(&map->kids[i], &map->kids[i + 1], (map->n - i - 1) * sizeof(map->kids[0]));
			map->n--;
			return;
		}
	}
}

void
cfg_node_free(struct cfg_node *node)
{
	size_t i;

	if (node == NULL)
		return;
	for (i = 0; i < node->n; i++)
		cfg_node_free(node->kids[i]);
	free(node->kids);
	free(node->key);
	if (node->value != NULL)
		WIPE(node->value, strlen(node->value)); /* values may be secrets (tokens) */
	free(node->value);
	free(node);
}
