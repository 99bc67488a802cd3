# Build a small image with the termwatch binary, the shipped sources,
# templates, playbook and example clients.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/termwatch

FROM debian:bookworm-slim
# ca-certificates: rustls takes its roots from the OS.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/termwatch --create-home termwatch
COPY --from=build /src/target/release/termwatch /usr/local/bin/termwatch
COPY --from=build /src/sources /etc/termwatch/sources
COPY --from=build /src/templates /etc/termwatch/templates
COPY --from=build /src/clients.example /etc/termwatch/clients.example
COPY --from=build /src/playbook.toml /etc/termwatch/playbook.toml
USER termwatch
WORKDIR /var/lib/termwatch
ENV TERMWATCH_DATA_DIR=/var/lib/termwatch/data \
    TERMWATCH_SOURCES=/etc/termwatch/sources \
    TERMWATCH_CLIENTS=/etc/termwatch/clients \
    TERMWATCH_DIGEST__TEMPLATES_DIR=/etc/termwatch/templates
VOLUME ["/var/lib/termwatch"]
ENTRYPOINT ["termwatch"]
CMD ["run"]
