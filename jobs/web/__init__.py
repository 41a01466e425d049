"""The HTTP and WebSocket edge of the platform: REST API, admin, stream, probes, metrics."""
