"""Web pages: the live page of `tailwatch watch --web` (app.py) and the investigator's app of `tailwatch serve`
(investigate.py), sharing common.py (JSON, security headers, outlines) and server.py (uvicorn in a thread)."""
