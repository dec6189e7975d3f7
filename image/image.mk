# image/image.mk: `make image` builds the FROM scratch container image (issue 7).
# Included from the top-level Makefile (include image/image.mk); uses $(BUILD) and $(VERSION).
# podman where present (this machine: runc runtime, cgroupfs manager), docker otherwise.
IMAGE_NAME ?= localhost/stavily
IMAGE_TAG  ?= $(VERSION)
IMAGE_CTX  := $(BUILD)/image-ctx
PODMAN     := $(shell command -v podman 2>/dev/null)
ifneq ($(PODMAN),)
IMAGE_BUILD := podman --runtime runc --cgroup-manager=cgroupfs build --pull=never
else
IMAGE_BUILD := docker build
endif

.PHONY: image
image: $(BUILD)/stavily.stripped Dockerfile
	@rm -rf $(IMAGE_CTX) && mkdir -p $(IMAGE_CTX)
	@cp $(BUILD)/stavily.stripped $(IMAGE_CTX)/stavily
	$(IMAGE_BUILD) --build-arg VERSION=$(VERSION) -f Dockerfile \
		-t $(IMAGE_NAME):$(IMAGE_TAG) $(IMAGE_CTX)
