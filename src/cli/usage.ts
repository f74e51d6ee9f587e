// The CLI's help text (DESIGN §3 is the contract; keep both in step).

/** Printed for --help, and with exit code 2 after a flag error. */
export const usage = `Usage:
  protogate serve --proto-path DIR --proto FILE.proto --upstream SERVICE=HOST:PORT
                  [--port 8080] [--host 0.0.0.0] [--admin-port N] [--config protogate.yaml]
                  [--workers N|auto]
  protogate serve --generated DIR --upstream SERVICE=HOST:PORT [...]
  protogate serve --config protogate.yaml
  protogate generate --proto-path DIR --proto FILE.proto --out DIR [--openapi-per-service]
  protogate validate [--config protogate.yaml] [--proto-path DIR --proto FILE.proto --upstream …]

Commands:
  serve      Serve every google.api.http rule of the given protos as JSON over HTTP/1.1,
             calling the gRPC services named by --upstream.
  generate   Check the protos and write the route/codec module (gateway.gen.mjs) and
             openapi.json (OpenAPI 3.1) into --out; serve them with serve --generated.
  validate   Check the config, the protos and their HTTP rules, and that every served
             service has an upstream, exactly as serve does before listening; then exit.

Options:
  --proto-path DIR          import root, like protoc -I (repeatable; first match wins,
                            then the bundled google/api, google/rpc and well-known types)
  --proto FILE              a .proto whose services are served (repeatable), relative to
                            a --proto-path root or as a path
  --upstream SERVICE=HOST:PORT
                            where a fully-qualified service lives (repeatable);
                            SERVICE '*' stands for every service without its own entry
  --generated DIR           serve the output of \`protogate generate\` instead of --proto
  --out DIR                 (generate) where to write the output
  --openapi-per-service     (generate) also write openapi.<package.Service>.json, one
                            document per service, beside the merged openapi.json
  --port N                  HTTP port (default 8080; 0 picks a free one)
  --host ADDR               listen address (default 0.0.0.0)
  --admin-port N            port for /healthz, /readyz and /metrics (off by default)
  --config FILE             protogate.yaml; flags override its values
  --workers N|auto          (serve) worker processes sharing the port (default 1: serve
                            in this process; auto: one per core); the admin port then
                            sums the workers' metrics
  -h, --help                show this help
  --version                 print the version

Signals (serve): SIGTERM/SIGINT stop accepting, let requests in flight finish (up to
server.drainTimeout, default 10s) and exit 0; SIGHUP reloads the config file and protos
(an invalid one is logged and the running config kept). Config keys: docs/config-reference.md.

Exit codes: 0 ok, 1 bad protos/annotations/config or startup failure (message on stderr
as file:line:col: problem (fix)), 2 bad command-line flags.
`;
