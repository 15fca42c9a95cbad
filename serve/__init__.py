"""The scopeguard HTTP service (FastAPI): classify conversations over HTTP. See docs/SERVING.md."""
