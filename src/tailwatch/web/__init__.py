"""The live web page of `tailwatch watch`: a read-only FastAPI app over a running Watcher."""
