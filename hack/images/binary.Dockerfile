# An image of one static binary and nothing else (no shell, no libc), run as a non-root user:
# the node's pause and CoreDNS images (hack/build-node.sh) and KServe's agent
# (hack/build-kserve.sh), MinIO (hack/build-minio.sh). The build context is the directory that holds BINARY.
#   buildah bud -f hack/images/binary.Dockerfile --build-arg BINARY=coredns <bin dir>
FROM scratch
ARG BINARY
ARG UID=65532
COPY ${BINARY} /entrypoint
USER ${UID}:${UID}
ENTRYPOINT ["/entrypoint"]
