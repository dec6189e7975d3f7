# release/release.mk: `make release`, included by the top-level Makefile.
#
# Builds a stripped, reproducible release binary and a deterministic tarball:
#   release/out/stavily-$(VERSION)-linux-x86_64          the stripped binary
#   release/out/stavily-$(VERSION)-linux-x86_64.tar.gz   binary, configs/, docs/,
#                                                         licenses/, sbom.cdx.json
#   release/out/SHA256SUMS                                sha256sum -c format
#
# Reproducibility: SOURCE_DATE_EPOCH is the last commit's time; source, vendor
# and build directories are mapped away with -ffile-prefix-map; no build id;
# the binary is stripped of all symbols and debug info (which would carry
# paths); the archive has sorted names, fixed mtime, owner 0:0, normalised
# modes and `gzip -n` (no name, no time).  Two clones in different
# directories give bit-identical outputs (test/integration/ship_release.sh).

RELEASE_OUT  ?= release/out
RELEASE_NAME := stavily-$(VERSION)-linux-x86_64
RELEASE_DIR  := $(BUILD)/release
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH
# Map every absolute directory that can reach the object files.
RELEASE_CFLAGS := -ffile-prefix-map=$(CURDIR)=. \
                  -ffile-prefix-map=$(abspath $(VENDOR))=vendor \
                  -ffile-prefix-map=$(abspath $(BUILD))=build \
                  -fdebug-prefix-map=$(CURDIR)=. -fno-ident
RELEASE_OBJS := $(patsubst src/%.c,$(RELEASE_DIR)/obj/%.o,$(SRCS) src/main.c)
RELEASE_LICENSES := musl:/usr/share/doc/musl-dev/copyright \
    bearssl:$(VENDOR)/src/bearssl-0.6+dfsg.1/debian/copyright \
    bearssl:$(VENDOR)/src/bearssl-0.6+dfsg.1/LICENSE.txt \
    libseccomp:$(VENDOR)/src/libseccomp-2.6.0/debian/copyright \
    libseccomp:$(VENDOR)/src/libseccomp-2.6.0/LICENSE \
    libinih:$(VENDOR)/src/libinih-59/debian/copyright \
    libinih:$(VENDOR)/src/libinih-59/LICENSE.txt \
    cjson:$(VENDOR)/src/cjson-1.7.18/debian/copyright \
    cjson:$(VENDOR)/src/cjson-1.7.18/LICENSE

.PHONY: release
release: $(RELEASE_OUT)/SHA256SUMS
	@cat $(RELEASE_OUT)/SHA256SUMS

$(RELEASE_DIR)/obj/%.o: src/%.c $(VENDOR_STAMP)
	@mkdir -p $(dir $@)
	$(MSG) RELCC $<
	$(Q)musl-gcc $(MUSL_CFLAGS) $(RELEASE_CFLAGS) -c $< -o $@
$(RELEASE_DIR)/obj/main.o: $(BUILD)/obj/version.h
$(RELEASE_DIR)/obj/main.o: RELEASE_CFLAGS += -I$(BUILD)/obj

$(RELEASE_DIR)/stavily: $(RELEASE_OBJS)
	$(MSG) LINK $@
	$(Q)$(LINK) -o $@.unstripped $(LINK_PRE) $(RELEASE_OBJS) $(LINK_POST)
	$(Q)strip --strip-all -R .comment -o $@ $@.unstripped

$(RELEASE_OUT)/SHA256SUMS: $(RELEASE_DIR)/stavily release/sbom.py vendor/deps.lock FORCE
	@rm -rf $(RELEASE_DIR)/stage && mkdir -p $(RELEASE_DIR)/stage/$(RELEASE_NAME)/licenses $(RELEASE_OUT)
	$(Q)set -e; st=$(RELEASE_DIR)/stage/$(RELEASE_NAME); \
	cp $(RELEASE_DIR)/stavily $$st/stavily; \
	cp -r configs docs $$st/; \
	for l in $(RELEASE_LICENSES); do \
	  pkg=$${l%%:*}; f=$${l#*:}; mkdir -p $$st/licenses/$$pkg; cp "$$f" $$st/licenses/$$pkg/; \
	done; \
	python3 release/sbom.py vendor/deps.lock \
	  "$$(dpkg-query -W -f='$${Version}' musl-dev)" $(VERSION) $(GIT_COMMIT) \
	  "$$(sha256sum $(RELEASE_DIR)/stavily | cut -d' ' -f1)" > $$st/sbom.cdx.json; \
	find $$st -type d -exec chmod 0755 {} +; find $$st -type f -exec chmod 0644 {} +; \
	chmod 0755 $$st/stavily; \
	find $$st -exec touch -h -d @$(SOURCE_DATE_EPOCH) {} +; \
	tar --sort=name --mtime=@$(SOURCE_DATE_EPOCH) --owner=0 --group=0 --numeric-owner \
	    --format=gnu -C $(RELEASE_DIR)/stage -cf - $(RELEASE_NAME) \
	  | gzip -n -9 > $(RELEASE_OUT)/$(RELEASE_NAME).tar.gz; \
	cp $(RELEASE_DIR)/stavily $(RELEASE_OUT)/$(RELEASE_NAME); \
	cd $(RELEASE_OUT) && sha256sum $(RELEASE_NAME) $(RELEASE_NAME).tar.gz > SHA256SUMS

# Header dependencies of the release objects (written by -MMD).
-include $(RELEASE_OBJS:.o=.d)
