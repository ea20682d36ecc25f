"""Pure lifecycle rules: no I/O, no Kubernetes client, exhaustively unit-tested."""
