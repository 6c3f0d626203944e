"""Run llama.cpp's own server from the ``xllamacpp`` wheel: a real OpenAI-compatible server.

    python tests/llama_server.py MODEL.gguf [--threads 1] [--ctx 2048] [--cache-mib 64]

It listens on a free 127.0.0.1 port, prints its URL (``http://127.0.0.1:PORT``) on one line
once the model is loaded, and serves until its standard input closes (the test fixture's
teardown) or it is killed (the dies-mid-stream test).
"""

from __future__ import annotations

import argparse
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--cache-mib", type=int, default=64)
    args = parser.parse_args()

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.n_ctx = args.ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.cache_ram_mib = args.cache_mib
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the system picks a free port
    params.verbosity = -1
    server = xllamacpp.Server(params)
    print(server.listening_address, flush=True)
    sys.stdin.read()  # returns when the parent closes the pipe
    del server


if __name__ == "__main__":
    main()
