# Stavily agent appliance: FROM scratch image (issue 7).  The build context is a staging
# directory holding only the stripped static-pie binary (image/image.mk: `make image`).
# No shell, no libc, no CA bundle, no /etc/passwd: the binary needs none of them
# (test/integration/image_podman.sh proves it).  Mount the config at /etc/stavily/agent.yaml
# and a writable state directory (owned by 65532) where agent.state_dir points.
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="stavily" \
      org.opencontainers.image.description="Stavily security agent appliance: sandboxed plugin agent and orchestrator in one static binary" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.vendor="Stavily"
COPY --chmod=0555 stavily /stavily
USER 65532:65532
ENTRYPOINT ["/stavily"]
CMD ["agent", "run", "-c", "/etc/stavily/agent.yaml"]
